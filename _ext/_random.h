/* The counter-based random numbers of the rule language's rand()/randn(), the Poisson
   input and the renewal sources (plasticity/sources.py has their NumPy twin): a hash
   (splitmix64's finaliser) of (seed, step, element, site), no state to carry, so the
   numbers do not depend on the order of evaluation, the threads or how a run is cut.
   Included by _ext/engine.pyx and pasted into every generated rule (_codegen.py). */
#ifndef PLASTICITY_RANDOM_H
#define PLASTICITY_RANDOM_H
#include <stdint.h>
static inline uint64_t _pl_mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
/* the 53 random bits of (seed, step, element, site) */
static inline uint64_t _pl_bits(uint64_t seed, int64_t step, int64_t idx, int64_t site) {
    return _pl_mix(seed ^ _pl_mix((uint64_t)step
                   ^ _pl_mix(((uint64_t)idx << 16) ^ (uint64_t)site))) >> 11;
}
/* uniform in [0, 1) */
static inline double _pl_rand(uint64_t seed, int64_t step, int64_t idx, int64_t site) {
    return (double)_pl_bits(seed, step, idx, site) * (1.0 / 9007199254740992.0);
}
#endif  /* PLASTICITY_RANDOM_H */
