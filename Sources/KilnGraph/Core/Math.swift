import Glibc

/// The elementary functions of the reference implementation.
///
/// `exp`, `log`, `log1p`, `tanh` and `erf` are Kiln's own (Kernels/kiln_math.h): the same
/// operations in the same order as the C the compiled programs run, vectorised there, so the
/// interpreter and the JIT give the same bits. The constants are written as bit patterns so
/// that no decimal conversion can round them differently. `MathTests` checks these against
/// the C copies bit for bit and against double precision (at most 1.011 ulp for `exp`, 0.83
/// for `log`, 2.47 for `log1p`, 1.331 for `tanh`, 1.303 for `erf`). Where the C calls `fmaf`,
/// these call `addingProduct`: one rounding, the same bits. The others are the C library's,
/// called by name so that Swift computes exactly what generated C calling the same libm
/// computes.
package enum Math {
    @inline(__always) private static func f(_ bits: UInt32) -> Float { Float(bitPattern: bits) }

    /// e^x.
    package static func exp(_ x: Float) -> Float {
        let high = f(0x42b1_7218), low = f(0xc2cf_f1b5)  // 88.72283935546875, -103.97208404541015625
        var c = x > high ? high : x
        c = c < low ? low : c
        c = x.isNaN ? 0 : c
        let n = Float(0.5).addingProduct(c, f(0x3fb8_aa3b)).rounded(.down)  // log2(e)
        var r = c.addingProduct(n, -f(0x3f31_8000))  // ln 2 = 0.693359375 ...
        r = r.addingProduct(n, f(0x395e_8083))  // ... - 2.12194440e-4
        let z = r * r
        var p = f(0x3950_6967)
        p = f(0x3ab7_43ce).addingProduct(p, r)
        p = f(0x3c08_8908).addingProduct(p, r)
        p = f(0x3d2a_a9c1).addingProduct(p, r)
        p = f(0x3e2a_aaaa).addingProduct(p, r)
        p = f(0x3f00_0000).addingProduct(p, r)
        p = r.addingProduct(p, z)
        p = p + 1
        let k = Int32(n)
        let k1 = k / 2, k2 = k - k1
        var y = p * f(UInt32(k1 + 127) << 23)
        y = y * f(UInt32(k2 + 127) << 23)
        y = x > high ? .infinity : y
        y = x < low ? 0 : y
        return x.isNaN ? x : y
    }

    /// The natural logarithm: -inf at 0, NaN below.
    package static func log(_ x: Float) -> Float {
        let tiny = x < f(0x0080_0000)  // the smallest normal float
        let s = tiny ? x * f(0x4b00_0000) : x  // 2^23
        let u = s.bitPattern
        var e = Int32((u >> 23) & 0xff) - (tiny ? 149 : 126)
        var m = f((u & 0x007f_ffff) | 0x3f00_0000)
        let below = m < f(0x3f35_04f3)  // sqrt(1/2)
        e = below ? e - 1 : e
        m = below ? m + m - 1 : m - 1
        let z = m * m
        var y = f(0x3d90_21bb)
        y = y * m - f(0x3deb_d1b8)
        y = y * m + f(0x3def_251a)
        y = y * m - f(0x3dfe_5d4f)
        y = y * m + f(0x3e11_e9bf)
        y = y * m - f(0x3e2a_ae50)
        y = y * m + f(0x3e4c_ceac)
        y = y * m - f(0x3e7f_fffc)
        y = y * m + f(0x3eaa_aaaa)
        y = y * m
        y = y * z
        let fe = Float(e)
        y = y + fe * f(0xb95e_8083)
        y = y - 0.5 * z
        var r = m + y
        r = r + fe * f(0x3f31_8000)
        r = x == .infinity ? x : r
        r = x == 0 ? -.infinity : r
        r = x < 0 ? f(0x7fc0_0000) : r
        return x.isNaN ? x : r
    }

    /// log(1 + x), accurate for small x.
    package static func log1p(_ x: Float) -> Float {
        let w = 1 + x
        let d = w - 1
        var r = log(w) * (x / d)
        r = d == 0 ? x : r
        r = x == .infinity ? x : r
        return x.isNaN ? x : r
    }

    /// The hyperbolic tangent.
    package static func tanh(_ x: Float) -> Float {
        let a = Swift.abs(x)
        let z = x * x
        var p = -f(0x3bba_f0ea)
        p = f(0x3ca9_134e).addingProduct(p, z)
        p = (-f(0x3d5c_1e2d)).addingProduct(p, z)
        p = f(0x3e08_8393).addingProduct(p, z)
        p = (-f(0x3eaa_aa99)).addingProduct(p, z)
        p = p * z
        let small = x.addingProduct(p, x)
        let e = exp(a + a)
        var big = 1 - 2 / (e + 1)
        big = x < 0 ? -big : big
        var y = a < 0.625 ? small : big
        y = x == 0 ? x : y  // keeps the sign of zero
        return x.isNaN ? x : y
    }

    /// The error function: x + x P(x²) below 0.875; 1 - exp(-x²) Q(x) up to 4, with Q a
    /// polynomial in (|x| - 2.4375) / 1.5625; 1 above.
    package static func erf(_ x: Float) -> Float {
        let a = Swift.abs(x)
        let z = x * x
        var p = f(0x38b6_6e15)
        p = p * z + f(0xba57_6447)
        p = p * z + f(0x3baa_a151)
        p = p * z + f(0xbcdc_0d39)
        p = p * z + f(0x3de7_1747)
        p = p * z + f(0xbec0_93a2)
        p = p * z + f(0x3e03_75d4)
        let small = x + x * p
        let u = (a - 2.4375) * f(0x3f23_d70a)  // 1 / 1.5625
        var q = f(0x37fb_a20e)
        q = q * u + f(0xb899_a3a6)
        q = q * u + f(0x38bf_66cf)
        q = q * u + f(0xb977_36cd)
        q = q * u + f(0x3a30_d93c)
        q = q * u + f(0xbacc_533d)
        q = q * u + f(0x3b63_2371)
        q = q * u + f(0xbbf9_5304)
        q = q * u + f(0x3c84_4b25)
        q = q * u + f(0xbd07_212d)
        q = q * u + f(0x3d84_7d56)
        q = q * u + f(0xbdf8_31d1)
        q = q * u + f(0x3e5c_b9ca)
        let e = exp(-(a * a))
        let mid = 1 - e * q
        var y = a < 4 ? mid : 1
        y = x < 0 ? -y : y
        y = a < 0.875 ? small : y
        return x.isNaN ? x : y
    }

    @inline(__always) package static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) package static func sqrt(_ x: Float) -> Float { sqrtf(x) }
    @inline(__always) package static func floor(_ x: Float) -> Float { floorf(x) }
    @inline(__always) package static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) package static func cos(_ x: Double) -> Double { Glibc.cos(x) }
}
