/* platform.c - placeholder, being written */
