#!/bin/sh
. ./globalvars
mirror="rsync.archlinux.example.org"
data='archlinux'
data_location=/storage/archlinux/
options="-rtlvH --safe-links --delete-delay --delay-updates --exclude=/iso/ --exclude=\"*.part\""

$RSYNC $options rsync://$mirror/$data/ $data_location || exit 1
