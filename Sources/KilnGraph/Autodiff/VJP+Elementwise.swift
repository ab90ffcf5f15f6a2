extension VJP {
    static func unary(_ op: UnaryOp, _ x: Node, _ y: Node, _ dy: Node) throws -> Node? {
        switch op {
        case .neg: return try -dy
        case .abs: return try dy * sign(x)
        case .sign, .floor: return nil
        case .exp: return try dy * y
        case .log: return try dy / x
        case .sqrt: return try dy / (y * 2)
        case .rsqrt: return try dy * (y * y * y) * -0.5
        case .square: return try dy * x * 2
        case .tanh: return try dy * (1 - y * y)
        case .erf: return try dy * exp(neg(square(x))) * 1.128_379_2
        case .sigmoid: return try dy * y * (1 - y)
        case .relu: return try select(greater(x, x.graph.constant(0)), dy, x.graph.constant(0))
        case .softplus: return try dy * sigmoid(x)
        }
    }

    static func binary(_ op: BinaryOp, _ a: Node, _ b: Node, _ y: Node, _ dy: Node, needs: [Bool]) throws -> [Node?] {
        let graph = y.graph
        let zero = graph.constant(0)
        var da: Node? = nil, db: Node? = nil
        switch op {
        case .add:
            da = dy
            db = dy
        case .sub:
            da = dy
            if needs[1] { db = try -dy }
        case .mul:
            if needs[0] { da = try dy * b }
            if needs[1] { db = try dy * a }
        case .div:
            if needs[0] { da = try dy / b }
            if needs[1] { db = try -dy * y / b }
        case .pow:
            // d/da = b a^(b-1), taken as 0 where b == 0; d/db = y log(a), with log(0) read as 0.
            if needs[0] {
                let slope = try select(equal(b, zero), zero, b * pow(a, b - 1))
                da = try dy * slope
            }
            if needs[1] {
                let safeBase = try select(equal(a, zero), graph.constant(1), a)
                db = try dy * y * log(safeBase)
            }
        case .maximum, .minimum:
            // The gradient goes to `a` where it was chosen (ties included), else to `b`.
            let chooseA = op == .maximum ? try greaterEqual(a, b) : try lessEqual(a, b)
            if needs[0] { da = try select(chooseA, dy, zero) }
            if needs[1] { db = try select(chooseA, zero, dy) }
        }
        return [
            needs[0] ? try da.map { try unbroadcast($0, to: a.shape) } : nil,
            needs[1] ? try db.map { try unbroadcast($0, to: b.shape) } : nil,
        ]
    }
}
