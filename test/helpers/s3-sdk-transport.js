/**
 * Setup of the jest project that runs the s3:// suites over the SDK's HTTP stack (the
 * `transport: 'sdk'` choice): every s3:// store of these suites, and of the child processes they
 * start, takes its transport from this variable.
 */
'use strict';

process.env.S3DLIO_S3_TRANSPORT = 'sdk';
