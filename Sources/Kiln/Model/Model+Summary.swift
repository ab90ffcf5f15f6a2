extension Model {
    /// Keras' summary table: each layer's name and type, output shape and parameter count,
    /// then the totals.
    public func summary() { print(summaryText()) }

    /// The text ``summary()`` prints.
    public func summaryText() -> String {
        var lines = ["Model: \"\(name)\""]
        if let failure {
            lines.append("(not built: \(failure.message))")
            return lines.joined(separator: "\n")
        }
        let widths = [33, 24, 15]
        func row(_ cells: [String], _ left: String, _ middle: String, _ right: String) -> String {
            let padded = cells.enumerated().map { index, cell -> String in
                let room = widths[index] - 2
                let text = cell.count > room ? String(cell.prefix(room - 1)) + "…" : cell
                let pad = String(repeating: " ", count: room - text.count)
                return " " + (index == 2 ? pad + text : text + pad) + " "
            }
            return left + padded.joined(separator: middle) + right
        }
        func rule(_ left: String, _ fill: String, _ middle: String, _ right: String) -> String {
            left + widths.map { String(repeating: fill, count: $0) }.joined(separator: middle) + right
        }
        lines.append(rule("┏", "━", "┳", "┓"))
        lines.append(row(["Layer (type)", "Output Shape", "Param #"], "┃", "┃", "┃"))
        lines.append(rule("┡", "━", "╇", "┩"))
        let outputs = Dictionary(calls.map { (ObjectIdentifier($0.layer), $0.outputShapes) }) { first, _ in first }
        for (index, layer) in layers.enumerated() {
            // A layer with several outputs shows them as Keras does: `[(None, 4), (None, 4)]`.
            let shape = outputs[ObjectIdentifier(layer)].map { $0.count == 1 ? Layer.shapesText($0) : "[\(Layer.shapesText($0))]" } ?? "?"
            lines.append(row([layer.description, shape, Self.grouped(layer.parameterCount)], "│", "│", "│"))
            lines.append(index == layers.count - 1 ? rule("└", "─", "┴", "┘") : rule("├", "─", "┼", "┤"))
        }
        if layers.isEmpty { lines.append(rule("└", "─", "┴", "┘")) }
        let total = layers.reduce(0) { $0 + $1.parameterCount }
        let trainable = layers.reduce(0) { $0 + $1.trainableVariables.reduce(0) { $0 + $1.shape.reduce(1, *) } }
        lines.append(" Total params: \(Self.grouped(total)) (\(Self.bytes(total * 4)))")
        lines.append(" Trainable params: \(Self.grouped(trainable)) (\(Self.bytes(trainable * 4)))")
        lines.append(" Non-trainable params: \(Self.grouped(total - trainable)) (\(Self.bytes((total - trainable) * 4)))")
        return lines.joined(separator: "\n")
    }

    /// `34,826`: digits in groups of three, as Keras prints counts.
    static func grouped(_ count: Int) -> String {
        let digits = Array(String(count.magnitude))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return (count < 0 ? "-" : "") + out
    }

    /// `260.00 B`, `1.25 KB`, `3.10 MB` (Keras' readable sizes).
    static func bytes(_ count: Int) -> String {
        let units = ["B", "KB", "MB", "GB"]
        var value = Double(count), unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return cFormat("%.2f", value) + " " + units[unit]
    }
}
