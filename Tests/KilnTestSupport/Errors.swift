import KilnGraph
import Testing

/// Expects `body` to throw a ``KilnError`` whose message contains every fragment; what it
/// returns, had it not thrown, is ignored.
package func expectError<Result>(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation,
                                 _ body: () throws -> Result) {
    do {
        _ = try body()
        Issue.record("expected an error mentioning \(fragments)", sourceLocation: sourceLocation)
    } catch let error as KilnError {
        for fragment in fragments where !error.message.contains(fragment) {
            Issue.record("\(error.message) does not mention \(fragment)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}
