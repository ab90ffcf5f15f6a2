import KilnGraph

/// Elementwise fusion: maximal groups of elementwise and broadcast ops over the same
/// iteration shape become one loop nest, and a reduction absorbs the elementwise producers
/// feeding it (its loop visits every input element once, so the group's other values are
/// written in the same pass).
///
/// A node joins the group of an operand when it has the group's shape, reads the group's
/// values only at its own position, and none of its other operands depends on the group, so
/// every group can run as one kernel between the kernels it depends on and those depending
/// on it. Values used outside their group are materialised; the rest live in registers.
public enum FuseElementwise {
    /// The pass.
    public static func run(_ function: Function) -> Function {
        var state = State(function)
        for index in function.nodes.indices { state.place(NodeID(index)) }
        var result = function
        result.groups = state.groups
        return result
    }

    struct State {
        let function: Function
        var groups: [Int?]
        /// Per group: the iteration shape and the reduced axes (if it holds a reduction).
        var shapes: [Shape] = []
        var reducedAxes: [[Int]?] = []
        /// Per group: its nodes.
        var members: [[NodeID]] = []

        /// The state before any grouping, or (for later passes) the groups `function` already has.
        init(_ function: Function) {
            self.function = function
            groups = function.groups.isEmpty ? [Int?](repeating: nil, count: function.nodes.count) : function.groups
            for (index, group) in groups.enumerated() {
                guard let group else { continue }
                while members.count <= group { members.append([]) }
                members[group].append(NodeID(index))
            }
        }

        /// Puts `id` in an existing group.
        mutating func add(_ id: NodeID, to group: Int) {
            groups[id.index] = group
            members[group].append(id)
        }

        mutating func place(_ id: NodeID) {
            let node = function.nodes[id.index]
            if node.op.isLoopElementwise {
                let shape = node.type.shape
                var candidate: Int? = nil
                for input in node.inputs {
                    if let group = groups[input.index], canJoin(id, group) {
                        candidate = group
                        break
                    }
                }
                let group = candidate ?? newGroup(shape: shape)
                join(id, group)
                mergeOperandGroups(of: id, into: group)
            } else if case .reduce(_, let axes, _) = node.op {
                let input = node.inputs[0]
                if let group = groups[input.index], isElementwiseMember(input),
                   shapes[group] == function.nodes[input.index].type.shape,
                   reducedAxes[group] == nil || reducedAxes[group] == axes {
                    reducedAxes[group] = axes
                    join(id, group)
                } else {
                    let group = newGroup(shape: function.nodes[input.index].type.shape)
                    reducedAxes[group] = axes
                    join(id, group)
                }
            }
        }

        /// Merges into `group` the other groups `id` reads at its own position (a chain's
        /// independent branches, like `tanh(x) * sigmoid(x)`), when neither waits for the other.
        private mutating func mergeOperandGroups(of id: NodeID, into group: Int) {
            for input in function.nodes[id.index].inputs {
                guard let other = groups[input.index], other != group, shapes[other] == shapes[group],
                      reducedAxes[other] == nil, isElementwiseMember(input),
                      function.nodes[input.index].type.shape == shapes[group],
                      !isBroadcastOp(function.nodes[id.index]) else { continue }
                guard !external(other, group).contains(where: { depends($0, on: group) }),
                      !external(group, other).contains(where: { depends($0, on: other) }) else { continue }
                for member in members[other] { groups[member.index] = group }
                members[group] += members[other]
                members[other] = []
            }
        }

        /// The operands group `a`'s members read from outside groups `a` and `b`.
        private func external(_ a: Int, _ b: Int) -> [NodeID] {
            members[a].flatMap { function.nodes[$0.index].inputs }.filter { groups[$0.index] != a && groups[$0.index] != b }
        }

        private mutating func newGroup(shape: Shape) -> Int {
            shapes.append(shape)
            reducedAxes.append(nil)
            members.append([])
            return shapes.count - 1
        }

        private mutating func join(_ id: NodeID, _ group: Int) { add(id, to: group) }

        private func isElementwiseMember(_ id: NodeID) -> Bool { function.nodes[id.index].op.isLoopElementwise }

        /// Whether elementwise node `id` can join `group`.
        private func canJoin(_ id: NodeID, _ group: Int) -> Bool {
            let node = function.nodes[id.index]
            guard node.type.shape == shapes[group] else { return false }
            for input in node.inputs {
                if groups[input.index] == group {
                    // Only same-position reads of elementwise members (not of a reduction, and not through a broadcast).
                    guard isElementwiseMember(input), function.nodes[input.index].type.shape == node.type.shape,
                          !isBroadcastOp(node) else { return false }
                } else if depends(input, on: group) {
                    return false
                }
            }
            return true
        }

        private func isBroadcastOp(_ node: NodeDef) -> Bool {
            if case .broadcast = node.op { return true }
            return false
        }

        /// Whether `id` is in `group` or depends on it through the kernels the groups form:
        /// reading any member of a group means waiting for the whole group's kernel.
        func depends(_ id: NodeID, on group: Int) -> Bool {
            var stack = [id]
            var visited = Set<Int>(), visitedGroups = Set<Int>()
            while let next = stack.popLast() {
                guard visited.insert(next.index).inserted else { continue }
                if let other = groups[next.index] {
                    if other == group { return true }
                    if visitedGroups.insert(other).inserted {
                        for member in members[other] { stack.append(contentsOf: function.nodes[member.index].inputs) }
                    }
                } else {
                    stack.append(contentsOf: function.nodes[next.index].inputs)
                }
            }
            return false
        }
    }
}
