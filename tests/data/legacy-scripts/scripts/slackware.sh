#!/bin/bash
source globalvars
mirror=mirror.example.net
data=slackware
data_location=/storage/slackware

${RSYNC} ${RSYNC_OPTS} --delete ${mirror}::${data}/ ${data_location}/
echo "$(date) slackware done" >> ${LOGDIR}/sync.log
