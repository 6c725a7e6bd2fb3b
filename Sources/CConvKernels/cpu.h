// The CPU features the kernels of this target need: each question answered once per process (each translation
// unit its own cached answer).
#ifndef BWMA_CONV_CPU_H
#define BWMA_CONV_CPU_H

// The body of a function returning whether this CPU has what `supported` (built of __builtin_cpu_supports tests)
// says, tested on the first call only.
#define CPU_SUPPORTS_ONCE(supported)   \
    do {                               \
        static int known = -1;         \
        if (known < 0) {               \
            __builtin_cpu_init();      \
            known = (supported);       \
        }                              \
        return known;                  \
    } while (0)

#endif
