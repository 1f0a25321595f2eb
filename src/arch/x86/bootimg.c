/* bootimg.c - placeholder, being written */
