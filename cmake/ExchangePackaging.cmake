# A .deb of the module and the "Exchange" profile (cpack, or the `package` target).
#
# The module is built against one libwireshark ABI and loads only in the
# Wireshark release series it was built for (4.4.x looks in plugins/4.4), so
# the package depends on exactly that library package and series, and its
# version names the series: one package per Debian release (12: 4.0,
# 13: 4.4, unstable: 4.6), built in that release.
get_target_property(_soname epan IMPORTED_SONAME_NONE)
if(NOT _soname)
  get_target_property(_soname epan IMPORTED_SONAME_RELEASE)
endif()
# libwireshark.so.16 -> libwireshark16 (Debian's name for a shared library package)
string(REGEX REPLACE "^lib([a-z]+)\\.so\\.([0-9]+)$" "lib\\1\\2" _libpkg "${_soname}")
if(NOT _libpkg MATCHES "^libwireshark[0-9]+$")
  set(_libpkg "libwireshark${Wireshark_MAJOR_VERSION}")
  message(WARNING "libwireshark's soname (${_soname}) not understood; the .deb will depend on ${_libpkg}")
endif()
math(EXPR _next_minor "${Wireshark_MINOR_VERSION} + 1")
set(_series_end "${Wireshark_MAJOR_VERSION}.${_next_minor}~")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wireshark-exchange-roles)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}+ws${EXCHANGE_WS_SERIES}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Wireshark plugin: Outlook's connections to Exchange, their roles and client processes")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Tags every TCP connection between Outlook and Exchange with its role (mailbox, directory,\nrpc-in, rpc-out, ews, autodiscover, oab, endpoint-mapper) over RPC/TCP, RPC/HTTP, MAPI/HTTP\nand HTTPS, attributes it to a client process, and counts connections per process\n(Statistics menu, tshark -z exchange,clients). Includes the Exchange configuration profile.")
set(CPACK_PACKAGE_CONTACT "Exchange roles plugin maintainers <exchange-roles@users.noreply.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/wireshark-exchange-roles")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "${_libpkg} (>= ${Wireshark_VERSION}), ${_libpkg} (<< ${_series_end}), wireshark-common (>= ${Wireshark_MAJOR_VERSION}.${Wireshark_MINOR_VERSION}), wireshark-common (<< ${_series_end})")
include(CPack)
