# Installation layout and the Debian package:
#   cpack -G DEB           (in the build directory) -> mcaprec_<version>_<arch>.deb
# The package holds /usr/bin/mcaprecd and /usr/bin/mcaprec, the systemd unit, the sysusers
# snippet that creates the mcaprec user, /etc/mcaprec/mcaprec.yaml (a conffile: local edits
# survive upgrades), the man pages (cmake/ManPages.cmake), the bash completion, and the
# copyright file and changelog in /usr/share/doc/mcaprec. Installing does not enable or start
# the service (`systemctl enable --now mcaprecd`); an upgrade restarts it if it was running
# (cmake/debian/postinst).

install(TARGETS mcaprec RUNTIME DESTINATION bin)
if(TARGET mcaprecd)
  install(TARGETS mcaprecd RUNTIME DESTINATION bin)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/systemd/mcaprecd.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/mcaprec.sysusers.conf
        DESTINATION lib/sysusers.d RENAME mcaprec.conf)
# Configuration lives in /etc whatever the prefix, which is where the unit looks for it.
install(FILES ${PROJECT_SOURCE_DIR}/systemd/mcaprec.yaml DESTINATION /etc/mcaprec)
install(FILES ${PROJECT_SOURCE_DIR}/tools/mcaprec.bash-completion
        DESTINATION share/bash-completion/completions RENAME mcaprec)
# Debian's documentation files: the copyright in machine-readable form (DEP-5) and, this
# being a native package, the changelog as changelog.gz (gzip -n: no name or time inside).
set(MCAPREC_DOC_DIR ${CMAKE_BINARY_DIR}/doc)
add_custom_command(
  OUTPUT ${MCAPREC_DOC_DIR}/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${MCAPREC_DOC_DIR}
  COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/cmake/debian/changelog
          ${MCAPREC_DOC_DIR}/changelog
  COMMAND gzip -9nf ${MCAPREC_DOC_DIR}/changelog
  DEPENDS ${PROJECT_SOURCE_DIR}/cmake/debian/changelog
  VERBATIM)
add_custom_target(package_docs ALL DEPENDS ${MCAPREC_DOC_DIR}/changelog.gz)
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright ${MCAPREC_DOC_DIR}/changelog.gz
        DESTINATION share/doc/mcaprec)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mcaprec)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MCAP recording daemon for vehicles and robots")
set(CPACK_PACKAGE_DESCRIPTION "mcaprecd receives data over UDP and TCP and writes it, \
compressed and indexed, into MCAP files that every MCAP tool opens. mcaprec inspects, verifies \
and converts recordings.")
set(CPACK_PACKAGE_CONTACT "mcaprec maintainers <mcaprec@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime libraries: found by dpkg-shlibdeps (package dpkg-dev) when it is there, else the
# Debian 12 names.
find_program(MCAPREC_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(MCAPREC_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libc6, libstdc++6, libgcc-s1, libspdlog1.10, libfmt9, libyaml-cpp0.7, libzstd1, liblz4-1, libisal2, libsystemd0, libcurl4, libssl3, libexpat1")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/debian/conffiles
    ${PROJECT_SOURCE_DIR}/cmake/debian/postinst
    ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
    ${PROJECT_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
