/* boot.c - placeholder, being written */
