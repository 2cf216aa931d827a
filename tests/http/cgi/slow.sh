#!/bin/sh
# CGI test script: answers after two seconds (holds a script slot meanwhile).
sleep 2
printf 'Content-Type: text/plain\n\nslow done\n'
