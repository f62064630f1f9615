/* cpu.c - which instruction set the kernels use, chosen once at run time.
 *
 * One binary runs on any x86-64: the tuned kernels are compiled for AVX2+FMA (and
 * AVX-512F) with target attributes, and called only when the CPU has them; every
 * other machine (and every other architecture) runs the portable C path. */
#include "layers/kernels.h"

#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

static int forced = -1; /* tests only: fn_cpu_force_isa */

void fn_cpu_force_isa(int isa)
{
    forced = isa;
}

static fn_isa detect(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static int isa = -1; /* a benign race: every thread computes the same value */
    if (isa < 0) {
        __builtin_cpu_init();
        int v = FN_ISA_PORTABLE;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            v = FN_ISA_AVX2;
            if (__builtin_cpu_supports("avx512f"))
                v = FN_ISA_AVX512;
        }
        isa = v;
    }
    return (fn_isa)isa;
#else
    return FN_ISA_PORTABLE;
#endif
}

fn_isa fn_cpu_isa(void)
{
    fn_isa hw = detect(); /* never more than the CPU has */
    return forced >= 0 && forced < (int)hw ? (fn_isa)forced : hw;
}

const char *fn_isa_name(fn_isa isa)
{
    switch (isa) {
    case FN_ISA_AVX512:
        return "avx512f";
    case FN_ISA_AVX2:
        return "avx2+fma";
    default:
        return "portable (OpenBLAS GEMM)";
    }
}

void fn_cpu_model(char *buf, size_t cap)
{
    if (!cap)
        return;
    snprintf(buf, cap, "unknown CPU");
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned r[12];
    if (__get_cpuid_max(0x80000000u, NULL) >= 0x80000004u) {
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char s[49];
        memcpy(s, r, 48);
        s[48] = '\0';
        const char *b = s;
        while (*b == ' ')
            b++;
        size_t n = strlen(b);
        while (n && b[n - 1] == ' ')
            n--;
        if (n)
            snprintf(buf, cap, "%.*s", (int)n, b);
    }
#endif
}
