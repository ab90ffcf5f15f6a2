import Glibc
import KilnGraph
import KilnKernels
import Testing

/// Kiln's elementary functions (Kernels/kiln_math.h, Sources/KilnGraph/Core/Math.swift):
/// the interpreter's Swift copies and the C the compiled programs call give the same bits,
/// and both stay within the error bounds the header states.
@Suite("Elementary functions: Swift and C agree bit for bit, within the stated error")
struct MathTests {
    typealias Function = @convention(c) (Float) -> Float

    /// The C function TinyCC links generated code to, by name.
    static func runtime(_ name: String) throws -> Function { try runtimeFunction(name, as: Function.self) }

    /// About a million floats of every exponent and sign, the special values, and the floats
    /// where exp, tanh and erf are furthest from double precision (found over all 2^32), so
    /// the bounds below are checked where they are reached.
    static let arguments: [Float] = {
        var values: [Float] = [0, -0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .leastNormalMagnitude,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1, 0.625, -0.625,
                               88.72283935546875, 88.7228, 88.72284, -103.97208, -103.97209, -87.33655,
                               Float(bitPattern: 0xc0bc_17a1), Float(bitPattern: 0x41d5_d43e),  // exp: -5.878, 26.73
                               Float(bitPattern: 0x3f20_d8e5), Float(bitPattern: 0xbf20_d8e5),  // tanh: ±0.6283
                               Float(bitPattern: 0x3f60_44ab), Float(bitPattern: 0xbf60_44ab)]  // erf: ±0.8760
        var bits: UInt32 = 12_345
        while true {
            values.append(Float(bitPattern: bits))
            let (next, overflow) = bits.addingReportingOverflow(4_093)
            if overflow { break }
            bits = next
        }
        return values
    }()

    static var cases: [(name: String, swift: (Float) -> Float, exact: (Double) -> Double, maxULP: Double)] {[
        ("kiln_exp", Math.exp, Glibc.exp, 1.011),
        ("kiln_log", Math.log, Glibc.log, 0.83),
        ("kiln_log1p", Math.log1p, Glibc.log1p, 2.47),
        ("kiln_tanh", Math.tanh, Glibc.tanh, 1.331),
        ("kiln_erf", Math.erf, Glibc.erf, 1.303),
    ]}

    @Test("the interpreter's functions and the runtime's give the same bits", arguments: ["kiln_exp", "kiln_log", "kiln_log1p", "kiln_tanh", "kiln_erf"])
    func swiftAndCAgree(name: String) throws {
        let c = try Self.runtime(name)
        let swift = try #require(Self.cases.first { $0.name == name }).swift
        var mismatches: [String] = []
        for x in Self.arguments {
            let a = swift(x), b = c(x)
            if a.bitPattern != b.bitPattern && !(a.isNaN && b.isNaN) && mismatches.count < 5 {
                mismatches.append("\(name)(\(x)): Swift \(a), C \(b)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test("each function is within its stated error of double precision", arguments: ["kiln_exp", "kiln_log", "kiln_log1p", "kiln_tanh", "kiln_erf"])
    func withinStatedError(name: String) throws {
        let item = try #require(Self.cases.first { $0.name == name })
        var worst = 0.0, at: Float = 0
        for x in Self.arguments {
            let got = item.swift(x), want = item.exact(Double(x))
            if want.isNaN {
                #expect(got.isNaN, "\(name)(\(x)) = \(got), expected NaN")
                continue
            }
            if abs(want) > Double(Float.greatestFiniteMagnitude) {
                #expect(got == Float(want), "\(name)(\(x)) = \(got), expected \(Float(want))")
                continue
            }
            guard abs(want) >= Double(Float.leastNormalMagnitude) else { continue }
            // The spacing of floats at |want|: 2^(exponent - 23).
            let ulp = Double(sign: .plus, exponent: abs(want).exponent - 23, significand: 1)
            let error = abs(Double(got) - want) / ulp
            if error > worst { (worst, at) = (error, x) }
        }
        #expect(worst <= item.maxULP, "\(name): \(worst) ulp at \(at)")
    }

    typealias Primitive = @convention(c) (Int64, UnsafePointer<Float>?, Int64, UnsafeMutablePointer<Float>?) -> Void

    /// The function a block primitive `kiln_vec_<name>` computes, element by element.
    static func scalar(_ name: String) -> (Float) -> Float {
        switch name {
        case "exp": Math.exp
        case "log": Math.log
        case "tanh": Math.tanh
        case "erf": Math.erf
        case "sigmoid": { x in x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)) }
        default: { x in (x > 0 ? x : 0) + Math.log1p(Math.exp(-Swift.abs(x))) }
        }
    }

    @Test("the vectorised block primitives give the scalar functions' bits",
          arguments: ["exp", "log", "tanh", "erf", "sigmoid", "softplus"])
    func blockPrimitivesAgree(name: String) throws {
        let primitive = try runtimeFunction("kiln_vec_\(name)", as: Primitive.self)
        let scalar = Self.scalar(name)
        let inputs = Self.arguments.filter { !$0.isSubnormal }  // programs flush denormals; these calls do not
        var outputs = [Float](repeating: 0, count: 256)
        var mismatches: [String] = []
        // Blocks of 253: seven pairs of 16 lanes, one run of 16 and a partial vector of 13 in each.
        for start in stride(from: 0, to: inputs.count, by: 253) {
            let block = Array(inputs[start..<min(start + 253, inputs.count)])
            block.withUnsafeBufferPointer { primitive(Int64(block.count), $0.baseAddress, 1, &outputs) }
            for (x, y) in zip(block, outputs) where y.bitPattern != scalar(x).bitPattern && !(y.isNaN && scalar(x).isNaN) {
                if mismatches.count < 5 { mismatches.append("\(name)(\(x)): block \(y), scalar \(scalar(x))") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// exp, sigmoid and tanh take a pair of registers (32 arguments) by a shorter form when all
    /// of them lie where exp's argument needs no clamp (Kernels/vector.c); any one out of that
    /// range, or NaN, sends the pair through the full form. Both give the scalar bits.
    @Test("pairs of arguments in range, and with one argument out of range or NaN, give the scalar bits",
          arguments: ["exp", "sigmoid", "tanh"])
    func pairsInAndOutOfRange(name: String) throws {
        let primitive = try runtimeFunction("kiln_vec_\(name)", as: Primitive.self)
        let scalar = Self.scalar(name)
        // Every 1/64 across [-128, 128], through the edges of each range: 44.36 (tanh),
        // 88.72 (exp, above), 103.97 (exp below, and sigmoid).
        var inputs = (-8192..<8192).map { Float($0) / 64 }
        let edges: [Float] = [88.72283935546875, 44.361419677734375, 103.97208404541015625]
        let odd: [Float] = [.nan, -.nan, .infinity, -.infinity, 1e30, -1e30, .greatestFiniteMagnitude, 0, -0.0, 1e-30]
            + edges.flatMap { [$0, $0.nextUp, -$0, (-$0).nextDown] }
        for value in odd {
            for lane in 0..<32 {
                var pair = (0..<32).map { Float($0 - 16) * 0.37 }
                pair[lane] = value
                inputs += pair
            }
        }
        var outputs = [Float](repeating: 0, count: inputs.count)
        inputs.withUnsafeBufferPointer { primitive(Int64(inputs.count), $0.baseAddress, 1, &outputs) }
        var mismatches: [String] = []
        for (x, y) in zip(inputs, outputs) where y.bitPattern != scalar(x).bitPattern && !(y.isNaN && scalar(x).isNaN) {
            if mismatches.count < 5 { mismatches.append("\(name)(\(x)): block \(y), scalar \(scalar(x))") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test func specialValues() {
        let infinity = Float.infinity
        #expect(Math.exp(-infinity) == 0 && Math.exp(infinity) == infinity && Math.exp(Float(0)) == 1)
        #expect(Math.exp(Float(89)) == infinity && Math.exp(Float(-104)) == 0)
        #expect(Math.log(Float(0)) == -infinity && Math.log(Float(-0.0)) == -infinity && Math.log(Float(-1)).isNaN)
        #expect(Math.log(Float(1)) == 0 && Math.log(infinity) == infinity && Math.log(Float.leastNonzeroMagnitude) < -103)
        #expect(Math.log1p(-1) == -.infinity && Math.log1p(1e-30) == 1e-30 && Math.log1p(.infinity) == .infinity)
        #expect(Math.tanh(.infinity) == 1 && Math.tanh(-.infinity) == -1 && Math.tanh(1e-30) == 1e-30)
        #expect(Math.tanh(-0.0).sign == .minus && Math.tanh(20) == 1)
        #expect(Math.erf(infinity) == 1 && Math.erf(-infinity) == -1 && Math.erf(Float(-0.0)).sign == .minus)
        #expect(Math.erf(Float(4)) == 1 && Math.erf(Float(1e-30)) > 0)
        let functions: [(Float) -> Float] = [Math.exp, Math.log, Math.log1p, Math.tanh, Math.erf]
        for f in functions { #expect(f(.nan).isNaN) }
    }
}
