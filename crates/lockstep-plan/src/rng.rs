//! A small seeded pseudo-random generator, so the crate needs no `rand` dependency.
//!
//! `SeededRng` is xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64, the
//! seeding procedure its authors recommend. It is fast, has a 2^256 − 1 period and passes
//! BigCrush, which is plenty for sampling and search heuristics. It deliberately is not
//! cryptographically secure and never reads entropy from the operating system: every
//! stream comes from a seed the caller passes in, so results are reproducible.

/// One step of SplitMix64: advances `state` and returns a well-mixed 64-bit value.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seeded xoshiro256** generator.
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: [u64; 4],
    spare_normal: Option<f64>,
}

impl SeededRng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> SeededRng {
        let mut mixer = seed;
        let state = [
            splitmix64(&mut mixer),
            splitmix64(&mut mixer),
            splitmix64(&mut mixer),
            splitmix64(&mut mixer),
        ];
        SeededRng {
            state,
            spare_normal: None,
        }
    }

    /// An independent generator for sub-stream `stream` of `seed` (an island, a trial).
    ///
    /// Deriving by index rather than by drawing from a parent generator keeps results
    /// independent of the order in which threads happen to run.
    pub fn derive(seed: u64, stream: u64) -> SeededRng {
        let mut mixer = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        SeededRng::new(splitmix64(&mut mixer))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..bound` (Lemire's multiply-shift; `bound` must be > 0).
    #[inline]
    pub fn below(&mut self, bound: usize) -> usize {
        debug_assert!(bound > 0, "invariant: below() needs a non-empty range");
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw (Marsaglia's polar method; the second value is kept).
    #[inline]
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(spare) = self.spare_normal.take() {
            return spare;
        }
        loop {
            let u = 2.0 * self.next_f64() - 1.0;
            let v = 2.0 * self.next_f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let factor = (-2.0 * s.ln() / s).sqrt();
                self.spare_normal = Some(v * factor);
                return u * factor;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream_and_different_seeds_differ() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let mut c = SeededRng::new(8);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn below_stays_in_range_and_floats_in_unit_interval() {
        let mut rng = SeededRng::new(1);
        for _ in 0..10_000 {
            assert!(rng.below(3) < 3);
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
