import Glibc

/// The C library's elementary functions, called by name so that Swift code computes
/// exactly what generated C calling the same libm computes.
package enum Math {
    @inline(__always) package static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) package static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) package static func log1p(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) package static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) package static func erf(_ x: Float) -> Float { erff(x) }
    @inline(__always) package static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) package static func sqrt(_ x: Float) -> Float { sqrtf(x) }
    @inline(__always) package static func floor(_ x: Float) -> Float { floorf(x) }
    @inline(__always) package static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) package static func cos(_ x: Double) -> Double { Glibc.cos(x) }
}
