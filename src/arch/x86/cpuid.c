/* cpuid.c - placeholder, being written */
