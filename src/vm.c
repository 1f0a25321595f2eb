/* vm.c - placeholder, being written */
