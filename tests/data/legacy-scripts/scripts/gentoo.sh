#!/bin/bash
source /opt/mirror/bin/globalvars
set -e

mirror=masterdistfiles.example.org
data=gentoo/distfiles
data_location=/storage/gentoo
user=mirroruser
options="-avzH -4 --delete --delay-updates --exclude /releases/historical"

${RSYNC} ${options} ${EXTRA_OPTS} --password-file=/etc/mirror/gentoo.secret \
    ${user}@${mirror}::${data} ${data_location}
