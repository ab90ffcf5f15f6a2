import KilnGraph

/// Merges scans that are one loop: the same operands, body, length and direction, where one's
/// per-step outputs begin with all of the other's. The reverse-mode rule of a scan adds such
/// a wider copy of the forward scan, stacking the values the backward loop reads, beside the
/// forward scan the loss already reads; after this pass the loop runs once.
///
/// The narrower scan is replaced, where it stands, by the widest one; its `scan_result` nodes
/// read the wider scan (its stacked carries at their new indices). The wider scan's own node
/// then maps to the same loop, and common-subexpression elimination merges the duplicate reads.
public enum MergeScans {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        let widest = widestScans(function.nodes)
        guard !widest.isEmpty else { return function }
        let targets = Set(widest.values)
        var rewriter = GraphRewriter(function)
        var emitted: [NodeID: NodeID] = [:]
        var shifts: [NodeID: (from: Int, by: Int)] = [:]
        for index in function.nodes.indices {
            let id = NodeID(index)
            var node = rewriter.remapped(id)
            if case .scan(let narrow) = node.op, let target = widest[id] ?? (targets.contains(id) ? id : nil),
               case .scan(let wide) = function.nodes[target.index].op {
                if let loop = emitted[target] {
                    rewriter.map(to: loop)
                } else {
                    node.op = .scan(wide)
                    let loop = rewriter.append(node)
                    emitted[target] = loop
                    rewriter.map(to: loop)
                }
                shifts[id] = (narrow.carryCount + narrow.outputCount, wide.outputCount - narrow.outputCount)
                continue
            }
            if case .scanResult(let resultIndex, let type) = node.op, let shift = shifts[function.nodes[index].inputs[0]],
               resultIndex >= shift.from {
                node.op = .scanResult(index: resultIndex + shift.by, type: type)
            }
            rewriter.map(to: rewriter.append(node))
        }
        return rewriter.finish()
    }

    /// For each scan that another scan widens, the widest such scan.
    private static func widestScans(_ nodes: [NodeDef]) -> [NodeID: NodeID] {
        var byOperands: [[NodeID]: [NodeID]] = [:]
        for (index, node) in nodes.enumerated() {
            if case .scan = node.op { byOperands[node.inputs, default: []].append(NodeID(index)) }
        }
        var widest: [NodeID: NodeID] = [:]
        for group in byOperands.values where group.count > 1 {
            for narrow in group {
                guard case .scan(let a) = nodes[narrow.index].op else { continue }
                var best: (id: NodeID, outputs: Int)?
                for candidate in group where candidate != narrow {
                    guard case .scan(let b) = nodes[candidate.index].op, widens(b, a),
                          b.outputCount > (best?.outputs ?? a.outputCount) else { continue }
                    best = (candidate, b.outputCount)
                }
                if let best { widest[narrow] = best.id }
            }
        }
        return widest
    }

    /// Whether `wide` is `narrow` with more per-step outputs after `narrow`'s.
    private static func widens(_ wide: Scan, _ narrow: Scan) -> Bool {
        wide.body == narrow.body && wide.parameters == narrow.parameters && wide.carryCount == narrow.carryCount
            && wide.sequenceCount == narrow.sequenceCount && wide.length == narrow.length && wide.reverse == narrow.reverse
            && wide.results.count > narrow.results.count && Array(wide.results.prefix(narrow.results.count)) == narrow.results
    }
}
