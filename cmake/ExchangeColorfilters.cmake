# cmake -DEXCHANGE=<profile colorfilters> -DDEFAULTS=<series' colorfilters> -DOUT=<file> -P ExchangeColorfilters.cmake
#
# A profile's colorfilters replaces Wireshark's default colouring rules, so the
# installed profile carries them: the Exchange rules first (a frame takes the
# first rule it matches), then every rule of the default file of the series
# built against, in its order, as that series ships it (4.4 and 4.6 split the
# TTL rule in two; a copy made once would drift).
foreach(_var EXCHANGE DEFAULTS OUT)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "ExchangeColorfilters.cmake: ${_var} not set")
  endif()
endforeach()
file(READ "${EXCHANGE}" _exchange)
file(READ "${DEFAULTS}" _rules)
# Rules only ("@name@filter@[bg][fg]", "!@..." when disabled): not the file's "DO NOT EDIT" banner
# (text, not a CMake list: a filter may hold ';').
string(REGEX REPLACE "(^|\n)[^@!\n][^\n]*" "\\1" _rules "${_rules}")
string(REGEX REPLACE "\n\n+" "\n" _rules "${_rules}")
string(REGEX REPLACE "^\n+" "" _rules "${_rules}")
if(NOT _rules MATCHES "^!?@")
  message(FATAL_ERROR "${DEFAULTS}: no colouring rules")
endif()
file(WRITE "${OUT}.tmp" "${_exchange}\n# Wireshark's default colouring rules (${DEFAULTS}), after the Exchange ones:\n${_rules}")
file(RENAME "${OUT}.tmp" "${OUT}")
