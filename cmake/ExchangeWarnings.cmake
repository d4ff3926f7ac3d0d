# Warning flags and symbol visibility for every target of the project.
set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_VISIBILITY_PRESET hidden)

function(exchange_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror
    -Wmissing-prototypes -Wshadow -Wpointer-arith -Wformat=2)
endfunction()
