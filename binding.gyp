{
  "targets": [
    {
      "target_name": "s3dlio",
      "sources": [
        "native/addon.cc",
        "native/aligned_memory.cc",
        "native/args.cc",
        "native/crc32c.cc",
        "native/datagen.cc",
        "native/direct_io.cc",
        "native/errors.cc",
        "native/file_copy.cc",
        "native/file_read.cc",
        "native/file_write.cc",
        "native/io_pool.cc",
        "native/job_memory.cc",
        "native/source_file.cc",
        "native/test_hooks.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "S3DLIO_SOURCE_HASH=\"<!(node scripts/native-hash.js)\""
      ],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] }
      },
      "conditions": [
        ["OS=='linux'", { "libraries": ["-ldl"] }]
      ]
    }
  ]
}
