/* arch_state.h - struct arch_vm, the architecture's part of struct vm.
 * vm.h's one route to the host architecture's headers. */
#ifndef VMRUN_ARCH_STATE_H
#define VMRUN_ARCH_STATE_H

#if defined(__x86_64__)
#include "arch/x86/x86_state.h"
#else
#error "vmrun has no support for this host architecture yet"
#endif

#endif
