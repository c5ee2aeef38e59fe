{
  "targets": [
    {
      "target_name": "packet",
      "sources": ["packet.c", "probe.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
