/* e820.c - placeholder, being written */
