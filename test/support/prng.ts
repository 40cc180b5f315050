/**
 * A deterministic pseudo-random number generator for tests (failures must reproduce): the same
 * seed gives the same numbers in [0, 1).
 */
export const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}
