import Foundation

/// One chart area of an SVG figure: a frame, axes with round tick values, and the mapping
/// from data to pixels. Plots draw series into panels and join them into a file.
struct SVGPanel {
    /// The frame's left, top, width and height in pixels (the plotting area inside the margins).
    let left: Double, top: Double, width: Double, height: Double
    /// The data ranges shown.
    let xRange: ClosedRange<Double>, yRange: ClosedRange<Double>

    /// The 10 colours of the usual categorical palette (Tableau 10).
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// A panel whose ranges cover `xs` and `ys`, widened to round ticks.
    init(left: Double, top: Double, width: Double, height: Double, xs: [Double], ys: [Double]) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
        xRange = Self.niceRange(xs)
        yRange = Self.niceRange(ys)
    }

    func px(_ x: Double) -> Double { left + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * width }
    func py(_ y: Double) -> Double { top + height - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * height }

    /// The frame, grid lines, tick labels, title and axis labels.
    func axes(title: String, xLabel: String, yLabel: String) -> String {
        var out = "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"white\" stroke=\"#444\"/>\n"
        for x in Self.ticks(xRange) {
            out += "<line x1=\"\(f(px(x)))\" y1=\"\(f(top))\" x2=\"\(f(px(x)))\" y2=\"\(f(top + height))\" stroke=\"#e5e5e5\"/>\n"
            out += text(Self.label(x), x: px(x), y: top + height + 16, anchor: "middle")
        }
        for y in Self.ticks(yRange) {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(y)))\" x2=\"\(f(left + width))\" y2=\"\(f(py(y)))\" stroke=\"#e5e5e5\"/>\n"
            out += text(Self.label(y), x: left - 6, y: py(y) + 4, anchor: "end")
        }
        out += text(title, x: left + width / 2, y: top - 10, anchor: "middle", size: 15, weight: "bold")
        out += text(xLabel, x: left + width / 2, y: top + height + 36, anchor: "middle")
        out += "<text transform=\"translate(\(f(left - 48)),\(f(top + height / 2))) rotate(-90)\" text-anchor=\"middle\" "
            + "font-family=\"sans-serif\" font-size=\"12\">\(Self.escape(yLabel))</text>\n"
        return out
    }

    /// A line through the points, optionally dashed.
    func line(_ points: [(Double, Double)], color: String, dashed: Bool = false) -> String {
        let path = points.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
        return "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\""
            + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n"
    }

    /// A legend entry at row `row` of the panel's top-right corner.
    func legend(_ label: String, color: String, row: Int, dashed: Bool = false, dot: Bool = false) -> String {
        let x = left + width - 120, y = top + 16 + Double(row) * 18
        let mark = dot
            ? "<circle cx=\"\(f(x + 10))\" cy=\"\(f(y - 4))\" r=\"4\" fill=\"\(color)\"/>\n"
            : "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 20))\" y2=\"\(f(y - 4))\" stroke=\"\(color)\" stroke-width=\"2\""
                + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n"
        return mark + text(label, x: x + 26, y: y, anchor: "start")
    }

    func text(_ content: String, x: Double, y: Double, anchor: String, size: Int = 12, weight: String = "normal") -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" font-family=\"sans-serif\" font-size=\"\(size)\" "
            + "font-weight=\"\(weight)\">\(Self.escape(content))</text>\n"
    }

    /// A whole SVG document of the given size around `body`.
    static func document(width: Double, height: Double, _ body: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
            + body + "</svg>\n"
    }

    /// Writes `svg` to `path` atomically.
    static func write(_ svg: String, to path: String) throws { try writeAtomically(Data(svg.utf8), to: path) }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A tick step of 1, 2 or 5 times a power of ten giving about five ticks.
    static func step(_ range: ClosedRange<Double>) -> Double {
        let raw = (range.upperBound - range.lowerBound) / 5
        let power = pow(10, floor(log10(raw)))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
    }

    static func niceRange(_ values: [Double]) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite)
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if high - low < 1e-12 { low -= 0.5; high += 0.5 }
        let s = step(low...high)
        return (floor(low / s) * s)...(ceil(high / s) * s)
    }

    static func ticks(_ range: ClosedRange<Double>) -> [Double] {
        let s = step(range)
        return stride(from: range.lowerBound, through: range.upperBound + s / 2, by: s).map { ($0 / s).rounded() * s }
    }

    static func label(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e6 ? String(Int(value)) : String(format: "%.3g", value)
    }
}
