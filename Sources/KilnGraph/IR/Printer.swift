/// The graph's one textual form, used in error messages, debug output and tests:
///
/// ```
/// %0 = placeholder "x" : f32[?,2]
/// %1 = variable "w" : f32[2,16]
/// %2 = matmul %0, %1 : f32[?,16]
/// %3 = sum %2 {axes=[1], keep_dims=true} : f32[?,1]
/// ```
public enum Printer {
    /// The whole graph, one line per node.
    public static func text(_ graph: Graph) -> String {
        graph.nodes.enumerated().map { line($1, id: NodeID($0)) }.joined(separator: "\n")
    }

    /// `%5 = matmul %3, %4 : f32[?,16]`. A scan is followed by its body, indented, and the
    /// body's results.
    public static func line(_ node: NodeDef, id: NodeID) -> String {
        let text = "\(id) = \(opText(node.op, inputs: node.inputs)) : \(node.type)"
        guard case .scan(let scan) = node.op else { return text }
        let body = scan.body.enumerated().flatMap { line($1, id: NodeID($0)).split(separator: "\n", omittingEmptySubsequences: false) }
        return text + body.map { "\n  | " + $0 }.joined() + "\n  | results " + scan.results.map(\.description).joined(separator: ", ")
    }

    /// The op with its operands and attributes, without the result: `matmul %3, %4 {transpose_b=true}`.
    public static func opText(_ op: Op, inputs: [NodeID]) -> String {
        var text = name(of: op)
        if let literal = literal(of: op) { text += " " + literal }
        if !inputs.isEmpty { text += " " + inputs.map(\.description).joined(separator: ", ") }
        let attributes = self.attributes(of: op)
        if !attributes.isEmpty { text += " {" + attributes.joined(separator: ", ") + "}" }
        return text
    }

    /// The op's name in printed text: `matmul`, `log_softmax`, `not_equal`.
    public static func name(of op: Op) -> String {
        switch op {
        case .placeholder: "placeholder"
        case .variable: "variable"
        case .constant: "constant"
        case .elementCount: "element_count"
        case .unary(let u): snakeCase(u.rawValue)
        case .binary(let b): snakeCase(b.rawValue)
        case .compare(let c): snakeCase(c.rawValue)
        case .select: "select"
        case .cast: "cast"
        case .reduce(let r, _, _): r.rawValue
        case .argmax: "argmax"
        case .reshape: "reshape"
        case .transpose: "transpose"
        case .broadcast: "broadcast"
        case .slice: "slice"
        case .pad: "pad"
        case .patches: "patches"
        case .foldPatches: "fold_patches"
        case .extremumGradient: "extremum_gradient"
        case .concatenate: "concatenate"
        case .gather: "gather"
        case .scatterAdd: "scatter_add"
        case .oneHot: "one_hot"
        case .matmul: "matmul"
        case .softmax: "softmax"
        case .logSoftmax: "log_softmax"
        case .randomUniform: "random_uniform"
        case .stopGradient: "stop_gradient"
        case .scan: "scan"
        case .scanResult: "scan_result"
        case .assign: "assign"
        }
    }

    /// A builder error: the failing op text, what is wrong, and the operands' printer lines.
    static func failure(_ opText: String, _ detail: String, operands: [Node]) -> String {
        var seen = Set<NodeID>()
        let lines = operands.filter { seen.insert($0.id).inserted }.map { "\n  \($0)" }
        return "\(opText): \(detail)" + lines.joined()
    }

    private static func literal(of op: Op) -> String? {
        switch op {
        case .placeholder(let name, _), .variable(let name, _): String(reflecting: name)
        case .constant(let value): constantText(value)
        case .elementCount(let shape): shape.description
        case .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose, .broadcast, .slice,
             .pad, .patches, .foldPatches, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax, .randomUniform,
             .extremumGradient,
             .stopGradient, .assign, .scan, .scanResult:
            nil
        }
    }

    private static func attributes(of op: Op) -> [String] {
        switch op {
        case .reduce(_, let axes, let keepDims):
            ["axes=\(list(axes))"] + (keepDims ? ["keep_dims=true"] : [])
        case .extremumGradient(let axes): ["axes=\(list(axes))"]
        case .argmax(let axis, let keepDims):
            ["axis=\(axis)"] + (keepDims ? ["keep_dims=true"] : [])
        case .transpose(let permutation): ["permutation=\(list(permutation))"]
        case .slice(let starts, _): ["starts=\(list(starts))"]
        case .pad(let low, let high): ["low=\(list(low))", "high=\(list(high))"]
        case .patches(let window, let padValue):
            windowAttributes(window) + (padValue == 0 ? [] : ["pad_value=\(padValue)"])
        case .foldPatches(let window, let imageSize):
            windowAttributes(window) + ["image_size=\(list(imageSize))"]
        case .concatenate(let axis), .gather(let axis), .scatterAdd(let axis, _),
             .softmax(let axis), .logSoftmax(let axis):
            ["axis=\(axis)"]
        case .oneHot(let depth): ["depth=\(depth)"]
        case .scan(let scan):
            ["carries=\(scan.carryCount)", "sequences=\(scan.sequenceCount)", "length=\(scan.length)"]
                + (scan.reverse ? ["reverse=true"] : [])
        case .scanResult(let index, _): ["index=\(index)"]
        case .randomUniform(let shape): ["shape=\(shape)"]
        case .matmul(let transposeA, let transposeB):
            (transposeA ? ["transpose_a=true"] : []) + (transposeB ? ["transpose_b=true"] : [])
        case .placeholder, .variable, .constant, .elementCount, .unary, .binary, .compare, .select, .cast,
             .reshape, .broadcast, .stopGradient, .assign:
            []
        }
    }

    private static func constantText(_ value: Tensor) -> String {
        let shown = 6
        let elements: [String]
        switch value.storage {
        case .float32(let a): elements = a.prefix(shown + 2).map(\.description)
        case .int32(let a): elements = a.prefix(shown + 2).map(\.description)
        case .bool(let a): elements = a.prefix(shown + 2).map(\.description)
        }
        if value.shape.isEmpty { return elements[0] }
        if value.scalarCount <= shown + 2 { return "[" + elements.joined(separator: ", ") + "]" }
        return "[" + elements.prefix(shown).joined(separator: ", ") + ", ... \(value.scalarCount) values]"
    }

    /// `size=[3,3]`, then stride, dilation and padding where they are not the defaults.
    private static func windowAttributes(_ window: PatchWindow) -> [String] {
        var out = ["size=\(list(window.size))"]
        if window.stride != [1, 1] { out.append("stride=\(list(window.stride))") }
        if window.dilation != [1, 1] { out.append("dilation=\(list(window.dilation))") }
        if window.padLow != [0, 0] || window.padHigh != [0, 0] {
            out += ["pad_low=\(list(window.padLow))", "pad_high=\(list(window.padHigh))"]
        }
        return out
    }

    private static func list(_ values: [Int]) -> String {
        "[" + values.map(String.init).joined(separator: ",") + "]"
    }

    private static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

extension Graph: CustomStringConvertible {
    /// The printer text of every node.
    public var description: String { Printer.text(self) }
}
