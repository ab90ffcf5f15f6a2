extension Reference {
    /// The counter-based generator behind ``Op/randomUniform(_:)``: a number in `[0, 1)`
    /// that depends only on `seed` and `index`, so every backend draws the same values in
    /// any order. The generated C (`kiln_random_uniform` in `kiln_prelude.h`) computes
    /// exactly this.
    ///
    /// Both are 32-bit integer hashes (a finaliser in the style of MurmurHash3) of the seed
    /// and of the index xor the hashed seed; the top 24 bits become the float.
    public static func uniform(seed: Int32, index: Int) -> Float {
        let key = mix(UInt32(bitPattern: seed) &* 0x9E37_79B9 &+ 0x632B_E5AB)
        let wide = UInt64(bitPattern: Int64(index))
        let low = UInt32(truncatingIfNeeded: wide), high = UInt32(truncatingIfNeeded: wide >> 32)
        let h = mix(low ^ key ^ (high &* 0x85EB_CA6B))
        return Float(h >> 8) * (1 / 16_777_216)
    }

    private static func mix(_ value: UInt32) -> UInt32 {
        var h = value
        h ^= h >> 16
        h &*= 0x7FEB_352D
        h ^= h >> 15
        h &*= 0x846C_A68B
        h ^= h >> 16
        return h
    }

    static func randomUniform(seed: Tensor, shape: [Int]) throws -> Tensor {
        let s = seed.int32Scalars[0]
        let count = Shape.product(shape) ?? 0
        return try Tensor(shape: shape, scalars: (0..<count).map { uniform(seed: s, index: $0) })
    }
}
