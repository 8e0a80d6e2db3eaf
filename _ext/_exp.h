/* pl_exp: the exponential of the neuron updates (LIFCond's exponential Euler step).
   One algorithm written twice, as scalar C and as 8 AVX-512 lanes, with the same IEEE-754
   double operations in the same order (no fused multiply-add: setup.py builds with
   -ffp-contract=off), so both forms, every thread count and every x86-64/ARM CPU give
   the same bits. glibc's exp has several variants (FMA or not) chosen per CPU, and a
   vector loop cannot call it without leaving the vector unit; this one vectorises.

   exp(x) = 2^k exp(r): k = rint(x / ln 2), r = x - k ln 2 with ln 2 split in two (the
   high part has 21 trailing zero bits, so k ln2_hi and x - k ln2_hi are exact),
   |r| <= ln(2)/2; exp(r) = 1 + (r + r^2 P(r)) with P the Taylor polynomial of degree 11
   (the series' degree 13: truncation < 5e-18 relative); 2^k applied as two exact
   powers of two, so a subnormal result is rounded once. Error <= 1 ulp (measured in
   tests/test_exp.py against a long-double reference). x < -745.2: 0; x > 709.78: inf;
   NaN: NaN.
   Included by _ext/neurons.pyx. */
#ifndef PLASTICITY_EXP_H
#define PLASTICITY_EXP_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PL_EXP_INV_LN2 1.4426950408889634074
#define PL_EXP_LN2_HI 6.93147180369123816490e-01  /* 0x3fe62e42 fee00000 */
#define PL_EXP_LN2_LO 1.90821492927058770002e-10  /* 0x3dea39ef 35793c76 */
#define PL_EXP_SHIFT 6755399441055744.0            /* 1.5 * 2^52: x + S - S = rint(x) */
#define PL_EXP_MAX 709.782712893383973096          /* above: +inf */
#define PL_EXP_MIN -745.2                          /* below: 0 */
/* 1/n! for n = 13 .. 2 (Horner from the highest) */
#define PL_EXP_C13 (1.0 / 6227020800.0)
#define PL_EXP_C12 (1.0 / 479001600.0)
#define PL_EXP_C11 (1.0 / 39916800.0)
#define PL_EXP_C10 (1.0 / 3628800.0)
#define PL_EXP_C9 (1.0 / 362880.0)
#define PL_EXP_C8 (1.0 / 40320.0)
#define PL_EXP_C7 (1.0 / 5040.0)
#define PL_EXP_C6 (1.0 / 720.0)
#define PL_EXP_C5 (1.0 / 120.0)
#define PL_EXP_C4 (1.0 / 24.0)
#define PL_EXP_C3 (1.0 / 6.0)
#define PL_EXP_C2 0.5

static inline double pl_exp_pow2(int64_t k) {
    uint64_t b = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static inline double pl_exp(double x) {
    double kd, r, p, e;
    int64_t k, k1;
    if (!(x > PL_EXP_MIN)) return x != x ? x : 0.0;
    if (x > PL_EXP_MAX) return INFINITY;
    kd = (x * PL_EXP_INV_LN2 + PL_EXP_SHIFT) - PL_EXP_SHIFT;
    r = (x - kd * PL_EXP_LN2_HI) - kd * PL_EXP_LN2_LO;
    p = PL_EXP_C13;
    p = PL_EXP_C12 + r * p;
    p = PL_EXP_C11 + r * p;
    p = PL_EXP_C10 + r * p;
    p = PL_EXP_C9 + r * p;
    p = PL_EXP_C8 + r * p;
    p = PL_EXP_C7 + r * p;
    p = PL_EXP_C6 + r * p;
    p = PL_EXP_C5 + r * p;
    p = PL_EXP_C4 + r * p;
    p = PL_EXP_C3 + r * p;
    p = PL_EXP_C2 + r * p;
    e = 1.0 + (r + (r * r) * p);
    k = (int64_t)kd;
    k1 = k / 2;  /* |k1|, |k - k1| <= 538: both powers are normal numbers */
    return (e * pl_exp_pow2(k1)) * pl_exp_pow2(k - k1);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 9
#include <immintrin.h>
/* the same operations on 8 lanes (AVX-512F/DQ); lanes are independent */
__attribute__((target("avx512f,avx512vl,avx512dq")))
static inline __m512d pl_exp8(__m512d x) {
    const __m512d S = _mm512_set1_pd(PL_EXP_SHIFT);
    const __m512i bias = _mm512_set1_epi64(1023);
    __m512d kd, r, p, e, res;
    __m512i k, k1;
    __mmask8 lo, hi, nan;
    kd = _mm512_sub_pd(_mm512_add_pd(_mm512_mul_pd(x, _mm512_set1_pd(PL_EXP_INV_LN2)), S), S);
    r = _mm512_sub_pd(_mm512_sub_pd(x, _mm512_mul_pd(kd, _mm512_set1_pd(PL_EXP_LN2_HI))),
                      _mm512_mul_pd(kd, _mm512_set1_pd(PL_EXP_LN2_LO)));
#define PL_EXP_STEP(C) p = _mm512_add_pd(_mm512_set1_pd(C), _mm512_mul_pd(r, p))
    p = _mm512_set1_pd(PL_EXP_C13);
    PL_EXP_STEP(PL_EXP_C12); PL_EXP_STEP(PL_EXP_C11); PL_EXP_STEP(PL_EXP_C10);
    PL_EXP_STEP(PL_EXP_C9); PL_EXP_STEP(PL_EXP_C8); PL_EXP_STEP(PL_EXP_C7);
    PL_EXP_STEP(PL_EXP_C6); PL_EXP_STEP(PL_EXP_C5); PL_EXP_STEP(PL_EXP_C4);
    PL_EXP_STEP(PL_EXP_C3); PL_EXP_STEP(PL_EXP_C2);
#undef PL_EXP_STEP
    e = _mm512_add_pd(_mm512_set1_pd(1.0),
                      _mm512_add_pd(r, _mm512_mul_pd(_mm512_mul_pd(r, r), p)));
    lo = _mm512_cmp_pd_mask(x, _mm512_set1_pd(PL_EXP_MIN), _CMP_NGT_UQ);  /* !(x > MIN) */
    hi = _mm512_cmp_pd_mask(x, _mm512_set1_pd(PL_EXP_MAX), _CMP_GT_OQ);
    nan = _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q);
    /* out-of-range lanes: any finite k for the shifts (their result is replaced) */
    kd = _mm512_mask_blend_pd(lo | hi, kd, _mm512_setzero_pd());
    k = _mm512_cvtpd_epi64(kd);  /* integral values: exact */
    /* k / 2 rounded toward zero, as C's integer division */
    k1 = _mm512_srai_epi64(_mm512_add_epi64(k, _mm512_srli_epi64(k, 63)), 1);
    res = _mm512_mul_pd(
        _mm512_mul_pd(e, _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(k1, bias), 52))),
        _mm512_castsi512_pd(_mm512_slli_epi64(
            _mm512_add_epi64(_mm512_sub_epi64(k, k1), bias), 52)));
    res = _mm512_mask_blend_pd(lo, res, _mm512_setzero_pd());
    res = _mm512_mask_blend_pd(hi, res, _mm512_set1_pd(INFINITY));
    return _mm512_mask_blend_pd(nan, res, x);
}
#endif
#endif  /* PLASTICITY_EXP_H */
