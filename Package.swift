// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Kiln",
    products: [
        // MARK: Libraries
        .library(name: "Kiln", targets: ["Kiln"]),
        .library(name: "KilnGraph", targets: ["KilnGraph"]),
        .library(name: "KilnCompiler", targets: ["KilnCompiler"]),
        .library(name: "KilnInterpreter", targets: ["KilnInterpreter"]),
        .library(name: "KilnJIT", targets: ["KilnJIT"]),
        // MARK: Tools
        .executable(name: "kiln", targets: ["kiln"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // MARK: C boundary
        .systemLibrary(name: "CTinyCC", path: "Sources/CTinyCC"),
        .target(
            name: "KilnKernels",
            path: "Kernels",
            exclude: ["README.md"],
            publicHeadersPath: "include",
            linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("m"), .linkedLibrary("pthread")]
        ),

        // MARK: Core modules (Kiln → KilnJIT/KilnInterpreter → KilnCompiler → KilnGraph)
        .target(name: "KilnGraph"),
        .target(name: "KilnCompiler", dependencies: ["KilnGraph"]),
        .target(name: "KilnInterpreter", dependencies: ["KilnGraph"]),
        .target(name: "KilnJIT", dependencies: ["KilnCompiler", "KilnGraph", "CTinyCC", "KilnKernels"]),
        .target(
            name: "Kiln",
            dependencies: ["KilnGraph", "KilnCompiler", "KilnInterpreter", "KilnJIT", "ZIPFoundation"]
        ),

        // MARK: Tools
        .executableTarget(
            name: "kiln",
            dependencies: ["Kiln", "KilnKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/kiln"
        ),

        // MARK: Examples
        .executableTarget(name: "ProductLiked", dependencies: ["Kiln"], path: "Examples/ProductLiked"),

        // MARK: Tests
        .testTarget(name: "KilnGraphTests", dependencies: ["KilnGraph"]),
        .testTarget(name: "KilnCompilerTests", dependencies: ["KilnCompiler"], exclude: ["Golden"]),
        .testTarget(name: "KilnInterpreterTests", dependencies: ["KilnInterpreter"]),
        .testTarget(name: "KilnJITTests", dependencies: ["KilnJIT", "KilnInterpreter"]),
        .testTarget(name: "KilnTests", dependencies: ["Kiln"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
