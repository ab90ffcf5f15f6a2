import KilnGraph

extension Function {
    /// The live graph in Graphviz DOT: one box per node, labelled with its op and type;
    /// once fusion has run, each kernel is a cluster named after its number.
    public var dot: String {
        let live = liveness
        let kernelOf = kernelNumbers()
        var clusters: [Int: [String]] = [:]
        var loose: [String] = []
        var edges: [String] = []
        let results = Dictionary(grouping: outputs, by: \.value).mapValues { $0.map(\.key).sorted() }
        for (index, node) in nodes.enumerated() where live[index] {
            var label = "%\(index) \(Printer.name(of: node.op))\\n\(node.type)"
            if let names = results[NodeID(index)] { label += "\\n→ " + names.joined(separator: ", ") }
            let shape: String
            switch node.op {
            case .placeholder, .variable, .constant:
                shape = "ellipse"
            case .elementCount, .unary, .binary, .compare, .select, .cast, .reduce, .argmax, .reshape, .transpose,
                 .broadcast, .slice, .pad, .patches, .foldPatches, .extremumGradient, .concatenate, .gather, .scatterAdd, .oneHot, .matmul, .softmax, .logSoftmax,
                 .randomUniform, .stopGradient, .assign, .scan, .scanResult:
                shape = "box"
            }
            let line = "    n\(index) [label=\"\(label.replacing("\"", with: "'"))\", shape=\(shape)];"
            if let k = kernelOf[NodeID(index)] { clusters[k, default: []].append(line) } else { loose.append(line) }
            for input in node.inputs { edges.append("    n\(input.index) -> n\(index);") }
        }
        var out = ["digraph kiln {", "    rankdir=TB;", "    node [fontname=\"monospace\", fontsize=10];"]
        out += loose
        for k in clusters.keys.sorted() {
            out.append("    subgraph cluster_k\(k) {")
            out.append("        label=\"k\(k)\"; style=rounded; color=\"#c0504d\";")
            out += clusters[k, default: []].map { "    " + $0 }
            out.append("    }")
        }
        out += edges
        out.append("}")
        return out.joined(separator: "\n")
    }
}
