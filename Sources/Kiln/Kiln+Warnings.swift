import Foundation
import Synchronization

extension Kiln {
    private static let warningHandler = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Sends the library's warnings (a callback's monitored value missing from the logs, as
    /// Keras warns) to `handler`, or back to standard error with `nil`.
    public static func onWarning(_ handler: (@Sendable (String) -> Void)?) {
        warningHandler.withLock { $0 = handler }
    }

    /// Reports `message` as a warning: `warning: message` on standard error by default.
    static func warn(_ message: String) {
        if let handler = warningHandler.withLock({ $0 }) {
            handler(message)
        } else {
            FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
        }
    }
}
