# relais_proto_library(<name> PROTOS <file.proto>... [ROOT <dir>] [GRPC])
#
# The one way C++ is generated from .proto files (the API, auth's token claims,
# the health schema). <name> is a static library of the generated code, built
# without RELAIS_WARNINGS (we do not own its warnings), whose PUBLIC include
# directory is <build>/<folder>/gen only: a header is included by its proto
# path, e.g. "relais/v1/care.grpc.pb.h" or "auth/claims.pb.h".
#   PROTOS  paths relative to ROOT, which is also the only proto path (-I) we
#           give protoc: a file's path there is its name in the descriptor pool
#           (what reflection clients see) and in the generated #includes.
#   ROOT    default: the current source directory.
#   GRPC    also generate the gRPC stubs (*.grpc.pb.{h,cc}) and link grpc++.
# protoc is run directly: protobuf_generate() puts each file's own folder first
# on the proto path, which would register auth/claims.proto as "claims.proto".
# Well-known types (google/protobuf/*.proto) come from protoc's own include dir.
function(relais_proto_library name)
  cmake_parse_arguments(P "GRPC" "ROOT" "PROTOS" ${ARGN})
  if(NOT P_ROOT)
    set(P_ROOT "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  set(gen "${CMAKE_CURRENT_BINARY_DIR}/gen")
  set(args --cpp_out=${gen})
  set(suffixes .pb.h .pb.cc)
  set(tools protobuf::protoc)
  if(P_GRPC)
    list(APPEND args --grpc_out=${gen}
         --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    list(APPEND suffixes .grpc.pb.h .grpc.pb.cc)
    list(APPEND tools gRPC::grpc_cpp_plugin)
  endif()
  set(outputs "")
  set(inputs "")
  foreach(proto IN LISTS P_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    foreach(suffix IN LISTS suffixes)
      list(APPEND outputs "${gen}/${stem}${suffix}")
    endforeach()
    list(APPEND inputs "${P_ROOT}/${proto}")
  endforeach()
  list(JOIN P_PROTOS " " listed)
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory "${gen}"
    COMMAND protobuf::protoc ${args} -I "${P_ROOT}" ${P_PROTOS}
    DEPENDS ${inputs} ${tools}
    WORKING_DIRECTORY "${P_ROOT}"
    COMMENT "Generating C++ for ${name}: ${listed}"
    VERBATIM)
  add_library(${name} STATIC ${outputs})
  target_include_directories(${name} PUBLIC "${gen}")
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf)
  if(P_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
endfunction()
