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
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        // MARK: C boundary
        .systemLibrary(name: "CTinyCC", path: "Sources/CTinyCC"),
        .systemLibrary(name: "CKilnZlib", path: "Sources/CKilnZlib"),
        .target(
            name: "KilnKernels",
            path: "Kernels",
            exclude: ["README.md", "portable"],
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
            dependencies: [
                "KilnKernels",
                "KilnGraph", "KilnCompiler", "KilnInterpreter", "KilnJIT", "ZIPFoundation", "CKilnZlib",
                .product(name: "CSV", package: "CSV.swift"),
            ]
        ),

        // Ready-made graphs with seeded inputs: demo data for the tool, the benchmarks and tests.
        .target(name: "KilnSamples", dependencies: ["Kiln"]),

        // MARK: Tools
        .executableTarget(
            name: "kiln",
            dependencies: ["Kiln", "KilnSamples", "KilnKernels",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/kiln"
        ),

        // MARK: Examples
        .executableTarget(name: "ProductLiked", dependencies: ["Kiln"], path: "Examples/ProductLiked"),
        .executableTarget(name: "PricePrediction", dependencies: ["Kiln"], path: "Examples/PricePrediction"),
        .executableTarget(name: "Digits", dependencies: ["Kiln"], path: "Examples/Digits"),
        .executableTarget(name: "FashionMNIST", dependencies: ["Kiln"], path: "Examples/FashionMNIST"),
        .executableTarget(name: "Sunspots", dependencies: ["Kiln"], path: "Examples/Sunspots"),
        .executableTarget(name: "TextGeneration", dependencies: ["Kiln"], path: "Examples/TextGeneration"),
        .executableTarget(name: "Diabetes", dependencies: ["Kiln"], path: "Examples/Diabetes"),
        .executableTarget(name: "Clustering", dependencies: ["Kiln"], path: "Examples/Clustering"),
        .executableTarget(name: "SemiSupervised", dependencies: ["Kiln"], path: "Examples/SemiSupervised"),
        .executableTarget(name: "Reinforcement", dependencies: ["Kiln"], path: "Examples/Reinforcement"),
        .executableTarget(name: "TransferLearning", dependencies: ["Kiln"], path: "Examples/TransferLearning"),
        .executableTarget(name: "GAN", dependencies: ["Kiln"], path: "Examples/GAN"),
        .executableTarget(name: "Distillation", dependencies: ["Kiln"], path: "Examples/Distillation"),

        // MARK: Tests
        // Helpers every test target shares: tolerance checks, literals, error expectations.
        .target(name: "KilnTestSupport", dependencies: ["KilnGraph"], path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnGraphTests", dependencies: ["KilnGraph", "KilnTestSupport"]),
        .testTarget(name: "KilnCompilerTests", dependencies: ["KilnCompiler", "KilnSamples", "KilnTestSupport"],
                    exclude: ["Golden"]),
        .testTarget(name: "KilnInterpreterTests", dependencies: ["KilnInterpreter", "KilnTestSupport"]),
        .testTarget(name: "KilnJITTests", dependencies: ["KilnJIT", "KilnInterpreter", "KilnSamples", "KilnTestSupport"]),
        .testTarget(name: "KilnTests", dependencies: ["Kiln", "KilnSamples", "KilnTestSupport"], exclude: ["Fixtures"]),
        // Runs the example programs and the kiln tool, which `swift test` builds with everything else.
        .testTarget(name: "ExampleTests", dependencies: ["Kiln"]),
    ],
    swiftLanguageModes: [.v6]
)
