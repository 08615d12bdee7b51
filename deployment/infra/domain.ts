// The custom domain of one environment: ACM certificate DNS-validated in the Route 53 zone,
// the API Gateway domain name (TLS 1.2) and its alias record. Every model's API maps onto it.
import { Construct } from 'constructs';
import { TerraformIterator, Token } from 'cdktf';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate/index.js';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation/index.js';
import { Apigatewayv2DomainName } from '@cdktf/provider-aws/lib/apigatewayv2-domain-name/index.js';
import { DataAwsRoute53Zone } from '@cdktf/provider-aws/lib/data-aws-route53-zone/index.js';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record/index.js';

export interface ApiDomainProps {
  domainName: string;
  /** Public hosted zone that holds the domain (its parent). */
  hostedZone: string;
}

export class ApiDomain extends Construct {
  readonly domainName: string;

  constructor(scope: Construct, id: string, props: ApiDomainProps) {
    super(scope, id);
    const zone = new DataAwsRoute53Zone(this, 'zone', { name: props.hostedZone, privateZone: false });
    const certificate = new AcmCertificate(this, 'certificate', {
      domainName: props.domainName,
      validationMethod: 'DNS',
      lifecycle: { createBeforeDestroy: true },
    });
    const options = TerraformIterator.fromComplexList(certificate.domainValidationOptions, 'domain_name');
    const validationRecords = new Route53Record(this, 'validation-record', {
      forEach: options,
      zoneId: zone.zoneId,
      name: options.getString('resource_record_name'),
      type: options.getString('resource_record_type'),
      records: [options.getString('resource_record_value')],
      ttl: 60,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, 'validation', {
      certificateArn: certificate.arn,
      validationRecordFqdns: Token.asList(TerraformIterator.fromResources(validationRecords).pluckProperty('fqdn')),
    });
    const domain = new Apigatewayv2DomainName(this, 'domain', {
      domainName: props.domainName,
      domainNameConfiguration: {
        certificateArn: validation.certificateArn,
        endpointType: 'REGIONAL',
        securityPolicy: 'TLS_1_2',
      },
    });
    this.domainName = domain.domainName;
    new Route53Record(this, 'alias', {
      zoneId: zone.zoneId,
      name: props.domainName,
      type: 'A',
      alias: {
        name: domain.domainNameConfiguration.targetDomainName,
        zoneId: domain.domainNameConfiguration.hostedZoneId,
        evaluateTargetHealth: false,
      },
    });
  }
}
