# Man pages, generated at build time by the Debian tools made for it:
#   mcaprec(1), mcaprecd(8)  help2man from each binary's --help and --version, with the
#                            sections --help has no room for (docs/man/*.h2m); mcaprec(1)
#                            also holds every command's --help (docs/man/command_help.sh);
#   mcaprec.yaml(5)          go-md2man from config/README.md, the one description of the keys
#                            (docs/man/config_page.cmake adds NAME, SYNOPSIS, SEE ALSO).
# go-md2man rather than pandoc: it is made for exactly this (Markdown to man, tables included)
# and is a 2 MB package where pandoc is 170 MB.
# Written gzipped into <build>/man and installed under share/man. Without the tools (Debian:
# help2man, go-md2man; scripts/setup.sh installs them) the pages are left out, saying so.
find_program(MCAPREC_HELP2MAN help2man)
find_program(MCAPREC_GO_MD2MAN go-md2man)
find_program(MCAPREC_GZIP gzip)
if(NOT MCAPREC_HELP2MAN OR NOT MCAPREC_GO_MD2MAN OR NOT MCAPREC_GZIP OR NOT TARGET mcaprecd)
  message(STATUS "man pages: not built (needs help2man, go-md2man and gzip, and mcaprecd)")
  return()
endif()

set(man_src ${PROJECT_SOURCE_DIR}/docs/man)
set(man_dir ${CMAKE_BINARY_DIR}/man)
file(MAKE_DIRECTORY ${man_dir})

# The date in the pages is the changelog's, so that a rebuild gives the same bytes.
set(MCAPREC_RELEASE_DATE "")
find_program(MCAPREC_DPKG_PARSECHANGELOG dpkg-parsechangelog)
if(MCAPREC_DPKG_PARSECHANGELOG)
  execute_process(
    COMMAND ${MCAPREC_DPKG_PARSECHANGELOG} -l ${PROJECT_SOURCE_DIR}/cmake/debian/changelog
            -STimestamp
    OUTPUT_VARIABLE release_epoch OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
if(NOT release_epoch)
  string(TIMESTAMP release_epoch "%s")
endif()
set(ENV{SOURCE_DATE_EPOCH} ${release_epoch})
string(TIMESTAMP MCAPREC_RELEASE_DATE "%B %Y" UTC)
unset(ENV{SOURCE_DATE_EPOCH})
set(help2man_env ${CMAKE_COMMAND} -E env SOURCE_DATE_EPOCH=${release_epoch})

add_custom_command(
  OUTPUT ${man_dir}/mcaprecd.8.gz
  COMMAND ${help2man_env} ${MCAPREC_HELP2MAN} --no-info --section 8
          --name "MCAP recording daemon for vehicles and robots"
          --include ${man_src}/mcaprecd.h2m --output ${man_dir}/mcaprecd.8 $<TARGET_FILE:mcaprecd>
  COMMAND ${MCAPREC_GZIP} -9nf ${man_dir}/mcaprecd.8
  DEPENDS mcaprecd ${man_src}/mcaprecd.h2m
  VERBATIM)

add_custom_command(
  OUTPUT ${man_dir}/mcaprec.1.gz
  COMMAND sh ${man_src}/command_help.sh $<TARGET_FILE:mcaprec> ${man_dir}/mcaprec-commands.h2m
  COMMAND ${help2man_env} ${MCAPREC_HELP2MAN} --no-info --section 1
          --name "inspect, verify, recover and convert MCAP recordings; send test traffic"
          --include ${man_src}/mcaprec.h2m --include ${man_dir}/mcaprec-commands.h2m
          --output ${man_dir}/mcaprec.1 $<TARGET_FILE:mcaprec>
  COMMAND ${MCAPREC_GZIP} -9nf ${man_dir}/mcaprec.1
  DEPENDS mcaprec ${man_src}/mcaprec.h2m ${man_src}/command_help.sh
  VERBATIM)

configure_file(${man_src}/mcaprec.yaml.5.head.md ${man_dir}/mcaprec.yaml.5.head.md @ONLY)
add_custom_command(
  OUTPUT ${man_dir}/mcaprec.yaml.5.gz
  COMMAND ${CMAKE_COMMAND} -DHEAD=${man_dir}/mcaprec.yaml.5.head.md
          -DREADME=${PROJECT_SOURCE_DIR}/config/README.md -DTAIL=${man_src}/mcaprec.yaml.5.tail.md
          -DOUT=${man_dir}/mcaprec.yaml.5.md -P ${man_src}/config_page.cmake
  COMMAND ${MCAPREC_GO_MD2MAN} -in ${man_dir}/mcaprec.yaml.5.md -out ${man_dir}/mcaprec.yaml.5
  COMMAND ${MCAPREC_GZIP} -9nf ${man_dir}/mcaprec.yaml.5
  DEPENDS ${man_dir}/mcaprec.yaml.5.head.md ${PROJECT_SOURCE_DIR}/config/README.md
          ${man_src}/mcaprec.yaml.5.tail.md ${man_src}/config_page.cmake
  VERBATIM)

add_custom_target(man_pages ALL
  DEPENDS ${man_dir}/mcaprecd.8.gz ${man_dir}/mcaprec.1.gz ${man_dir}/mcaprec.yaml.5.gz)
install(FILES ${man_dir}/mcaprec.1.gz DESTINATION share/man/man1)
install(FILES ${man_dir}/mcaprecd.8.gz DESTINATION share/man/man8)
install(FILES ${man_dir}/mcaprec.yaml.5.gz DESTINATION share/man/man5)
set(MCAPREC_MAN_DIR ${man_dir})
