# What `cmake --install` puts where, and the .deb `cpack -G DEB` builds from it.
#
# Two ways, one layout (see README, "Install"):
#   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release && cmake --build build/rel && cmake --install build/rel
#       prefix /usr/local: /usr/local/{bin,sbin}, /usr/local/etc/recheck, /usr/local/lib/systemd/system
#   cmake -S . -B build/deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build/deb
#   (cd build/deb && cpack -G DEB)      -> recheck_VERSION_ARCH.deb: /usr/{bin,sbin}, /etc/recheck, /lib/systemd/system
# Every path written into an installed file (the unit, the configuration's comments, the maintainer
# scripts) comes from these variables, so the unit names the binary the prefix installed.

set(RECHECK_SBINDIR ${CMAKE_INSTALL_FULL_SBINDIR})
set(RECHECK_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/recheck)
set(RECHECK_DOCDIR ${CMAKE_INSTALL_FULL_DOCDIR})
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
	# Debian 12 ships units in /lib/systemd/system (dh_installsystemd does); sysusers.d is under /usr.
	set(_unitdir_default /lib/systemd/system)
else()
	# systemd also reads units and sysusers.d entries below /usr/local/lib.
	set(_unitdir_default ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(RECHECK_UNITDIR ${_unitdir_default} CACHE PATH "Where the systemd unit is installed")
set(RECHECK_SYSUSERSDIR ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d CACHE PATH "Where the sysusers.d entry is installed")

set(_gen ${CMAKE_BINARY_DIR}/dist)
configure_file(${CMAKE_SOURCE_DIR}/dist/recheckd.service.in ${_gen}/recheckd.service @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/dist/recheckd.yaml ${_gen}/recheckd.yaml @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/dist/debian/postinst.in ${_gen}/debian/postinst @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/dist/debian/prerm ${_gen}/debian/prerm COPYONLY)
configure_file(${CMAKE_SOURCE_DIR}/dist/debian/postrm ${_gen}/debian/postrm COPYONLY)
configure_file(${CMAKE_SOURCE_DIR}/dist/debian/changelog.in ${_gen}/changelog @ONLY)
file(WRITE ${_gen}/debian/conffiles "${RECHECK_CONFDIR}/recheckd.yaml\n${RECHECK_CONFDIR}/socks5-generate-204.yaml\n")

# Man pages and the changelog are installed gzipped (-n: no name or time stamp, so the package is
# reproducible), as Debian policy asks and man(1) reads.
set(_man recheck.1 recipe.5 recheckd.8)
set(_gz_outputs)
foreach(page ${_man} changelog)
	if(page STREQUAL "changelog")
		set(_src ${_gen}/changelog)
	else()
		set(_src ${CMAKE_SOURCE_DIR}/docs/${page})
	endif()
	add_custom_command(OUTPUT ${_gen}/${page}.gz
		COMMAND gzip -9n -c ${_src} > ${_gen}/${page}.gz
		DEPENDS ${_src} VERBATIM)
	list(APPEND _gz_outputs ${_gen}/${page}.gz)
endforeach()
add_custom_target(recheck_gz ALL DEPENDS ${_gz_outputs})

install(FILES ${_gen}/recheck.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${_gen}/recipe.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${_gen}/recheckd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

file(GLOB _docs_md CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)  # every page docs/ gains is installed
install(FILES README.md ${_docs_md} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES dist/debian/copyright ${_gen}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The reference configuration with every key, and the recipe it names (found relative to it).
install(FILES samples/recheckd.yaml samples/socks5-generate-204.yaml samples/http-proxy-generate-204.yaml
	DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

install(FILES ${_gen}/recheckd.service DESTINATION ${RECHECK_UNITDIR})
install(FILES dist/recheckd.sysusers DESTINATION ${RECHECK_SYSUSERSDIR} RENAME recheckd.conf)

# The configuration that the unit starts with, and its recipe beside it. `cmake --install` keeps an
# existing one (an operator's edits survive a reinstall); the .deb marks them conffiles instead.
# (file(INSTALL) adds DESTDIR itself; the existence test must add it.)
install(CODE "
	foreach(f recheckd.yaml socks5-generate-204.yaml)
		if(f STREQUAL recheckd.yaml)
			set(src \"${_gen}/recheckd.yaml\")
		else()
			set(src \"${CMAKE_SOURCE_DIR}/samples/\${f}\")
		endif()
		if(EXISTS \"\$ENV{DESTDIR}${RECHECK_CONFDIR}/\${f}\")
			message(STATUS \"Keeping: \$ENV{DESTDIR}${RECHECK_CONFDIR}/\${f}\")
		else()
			file(INSTALL \"\${src}\" DESTINATION \"${RECHECK_CONFDIR}\"
				PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
		endif()
	endforeach()
")

# --- the .deb ------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME recheck)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "recheck maintainers <recheck@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "record proxy health checks and balance TCP by source like HAProxy")
set(CPACK_PACKAGE_DESCRIPTION "recheck records a health check of a SOCKS or HTTP proxy from one
real request (libcurl through the proxy, captured with libpcap) and writes it
as a recipe; it replays, lints and exports recipes as HAProxy 2.6 tcp-check
lines. recheckd replays recipes as health checks and relays TCP to the healthy
servers, picking one by client source address as HAProxy's balance source
does.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/recheck")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
	${_gen}/debian/conffiles ${_gen}/debian/postinst ${_gen}/debian/prerm ${_gen}/debian/postrm)
include(CPack)
