import { Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** A custom domain for the Attestor API (AttestorStack's `domain`). */
export interface AttestorDomainOptions {
  /** The API's host name, e.g. `attest.example.com`: lowercase, no wildcard. */
  readonly domainName: string;
  /**
   * The TLS certificate for `domainName`, or its ARN: an ACM certificate in the stack's own Region
   * (the API is regional). Imported certificates work too.
   * @default a new ACM certificate validated through DNS records in `hostedZone` (required then)
   */
  readonly certificate?: acm.ICertificate | string;
  /**
   * The Route 53 public hosted zone `domainName` is in. Given, the stack validates the certificate it
   * creates with records there and points `domainName` at the API with an alias A record. Without it,
   * point a CNAME (or your DNS provider's alias) at the `CustomDomainTarget` output yourself.
   * A zone of the app, or its id and name (imported with `HostedZone.fromHostedZoneAttributes`, so
   * synthesis stays offline: no lookups).
   * @default none: no DNS records are made
   */
  readonly hostedZone?: route53.IHostedZone | route53.HostedZoneAttributes;
}

export interface AttestorDomainProps extends AttestorDomainOptions {
  /** The API to serve at the domain's root, on its deployment stage. */
  readonly restApi: apigw.RestApi;
}

/** A host name API Gateway and Route 53 accept: dot-separated labels of a-z, 0-9 and inner hyphens, at least two. */
const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * An API Gateway custom domain (regional, TLS 1.2 at least) mapped at its root to the Attestor
 * API's stage, so that URLs are `https://<domain>/v1/attest` (no `/prod`). The WAF web ACL and the
 * stage's access logs and throttle are the stage's, so they apply to requests through either name.
 */
export class AttestorDomain extends Construct {
  readonly domain: apigw.DomainName;
  readonly certificate: acm.ICertificate;
  /** The alias record, when a hosted zone was given. */
  readonly aliasRecord?: route53.ARecord;

  constructor(scope: Construct, id: string, props: AttestorDomainProps) {
    super(scope, id);
    const { domainName, certificate } = props;
    this.url = `https://${domainName}/`;
    const hostedZone =
      props.hostedZone === undefined || isHostedZone(props.hostedZone)
        ? props.hostedZone
        : route53.HostedZone.fromHostedZoneAttributes(this, 'HostedZone', props.hostedZone);
    checkDomain(Stack.of(this), { domainName, ...(certificate !== undefined ? { certificate } : {}), ...(hostedZone ? { hostedZone } : {}) });

    if (certificate === undefined) {
      // checkDomain made sure there is a zone to validate the certificate in.
      this.certificate = new acm.Certificate(this, 'Certificate', {
        domainName,
        validation: acm.CertificateValidation.fromDns(hostedZone),
      });
    } else {
      this.certificate = typeof certificate === 'string' ? acm.Certificate.fromCertificateArn(this, 'Certificate', certificate) : certificate;
    }

    this.domain = new apigw.DomainName(this, 'DomainName', {
      domainName,
      certificate: this.certificate,
      endpointType: apigw.EndpointType.REGIONAL,
      // TLS 1.2 rather than a TLS 1.3-only policy: the SDK runs on devices whose OS may offer no 1.3.
      securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      mapping: props.restApi,
    });

    if (hostedZone) {
      this.aliasRecord = new route53.ARecord(this, 'AliasRecord', {
        zone: hostedZone,
        recordName: domainName,
        target: route53.RecordTarget.fromAlias(new route53Targets.ApiGatewayDomain(this.domain)),
      });
    }
  }

  /** The API's base URL through the custom domain: the SDK endpoint and the CLI --endpoint. */
  readonly url: string;
}

function isHostedZone(zone: route53.IHostedZone | route53.HostedZoneAttributes): zone is route53.IHostedZone {
  return 'hostedZoneArn' in zone;
}

/** Refuses, at synth and in plain words, a domain that CloudFormation would refuse at deploy time, or that could never work. */
function checkDomain(stack: Stack, props: AttestorDomainOptions & { readonly hostedZone?: route53.IHostedZone }): void {
  const { domainName, certificate, hostedZone } = props;
  const owner = 'AttestorStack: domain';
  if (!Token.isUnresolved(domainName) && !HOST_NAME.test(domainName)) {
    throw new Error(`${owner}.domainName must be a lowercase host name such as attest.example.com (no wildcard, no trailing dot), got '${domainName}'`);
  }
  if (certificate === undefined && hostedZone === undefined) {
    throw new Error(`${owner} needs a certificate (an ACM certificate or its ARN) or a hostedZone to create and validate one in`);
  }
  if (typeof certificate === 'string' && !Token.isUnresolved(certificate)) {
    const parts = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/.exec(certificate);
    if (!parts) throw new Error(`${owner}.certificate must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), got '${certificate}'`);
    const region = parts[1];
    if (!Token.isUnresolved(stack.region) && region !== stack.region) {
      throw new Error(`${owner}.certificate is in ${region} but the stack deploys to ${stack.region}: a regional API needs a certificate in its own Region`);
    }
  }
  if (hostedZone && !Token.isUnresolved(domainName) && !Token.isUnresolved(hostedZone.zoneName)) {
    const zone = hostedZone.zoneName.replace(/\.$/, '').toLowerCase();
    if (domainName !== zone && !domainName.endsWith(`.${zone}`)) {
      throw new Error(`${owner}.domainName ${domainName} is not in the hosted zone ${zone}: records for it cannot be made there`);
    }
  }
}
