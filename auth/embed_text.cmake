# cmake -DINPUT=<text file> -DOUTPUT=<.cc> -DSYMBOL=<name> -P embed_text.cmake
# Writes a C++ source defining relais::auth::internal::<SYMBOL> (the file's
# bytes) and <SYMBOL>Size, for auth/common_passwords.h. The text must not hold
# the raw-string delimiter, which is checked.
file(READ "${INPUT}" content)
string(FIND "${content}" ")relais_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} holds the raw-string delimiter")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by auth/embed_text.cmake. Do not edit.\n"
  "#include <cstddef>\n"
  "namespace relais::auth::internal {\n"
  "extern const char ${SYMBOL}[];\n"
  "extern const size_t ${SYMBOL}Size;\n"
  "const char ${SYMBOL}[] = R\"relais_embed(${content})relais_embed\";\n"
  "const size_t ${SYMBOL}Size = sizeof(${SYMBOL}) - 1;\n"
  "}  // namespace relais::auth::internal\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
