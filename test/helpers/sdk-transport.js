/**
 * Setup of the jest project that runs the cloud suites over the SDKs' HTTP stacks (the
 * `transport: 'sdk'` choice of s3://, az:// and gs://): every store of these suites, and of the child
 * processes they start, takes its transport from these variables.
 */
'use strict';

process.env.S3DLIO_S3_TRANSPORT = 'sdk';
process.env.S3DLIO_GCS_TRANSPORT = 'sdk';
process.env.S3DLIO_AZURE_TRANSPORT = 'sdk';
