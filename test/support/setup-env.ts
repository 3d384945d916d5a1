// Tests run on the machine's Node 20; the AWS SDK's notice about Node 22 for its 2027 releases is noise here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
