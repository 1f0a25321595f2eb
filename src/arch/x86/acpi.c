/* acpi.c - placeholder, being written */
