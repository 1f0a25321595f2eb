/* serial8250.c - placeholder, being written */
