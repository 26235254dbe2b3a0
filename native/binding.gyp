# The packet-socket addon (docs/wire.md). Built by scripts/build-native.sh:
#   node-gyp rebuild --nodedir="$MESHLB_NODEDIR"   ->  build/Release/meshlb_packet.node
{
  "targets": [
    {
      "target_name": "meshlb_packet",
      "sources": ["packet_socket.c", "packet_thread.c", "answer.c", "pulse.c", "pulse_napi.c"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wshadow", "-Wformat=2", "-fvisibility=hidden"],
    }
  ]
}
