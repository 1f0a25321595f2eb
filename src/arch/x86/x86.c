/* x86.c - placeholder, being written */
