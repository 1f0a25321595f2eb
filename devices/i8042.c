/* i8042.c - placeholder, being written */
