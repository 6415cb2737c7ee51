#!/bin/bash
# Ubuntu archive: packages first without the indices, then everything
# (indices, deletions), so clients never see indices naming missing files.
source globalvars

mirror=mirrors.example.edu
data=ubuntu
data_location=/storage/ubuntu
options="--exclude 'Packages*' --exclude 'Sources*' --exclude 'Release*' --exclude 'InRelease'"

${RSYNC} ${RSYNC_OPTS} ${options} ${mirror}::${data} ${data_location} >> ${LOGDIR}/ubuntu.log 2>&1
${RSYNC} ${RSYNC_OPTS} --delete --delete-after \
    ${mirror}::${data} ${data_location} >> ${LOGDIR}/ubuntu.log 2>&1

date +%s > ${data_location}/lastsync
