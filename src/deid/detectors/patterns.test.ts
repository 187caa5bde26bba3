// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { loadDictionaries } from '../dictionaries/index.js';
import { createPatternDetector } from './patterns.js';
import { mergeSpans } from './merge.js';
import type { Span } from '../types.js';

const en = createPatternDetector('en', loadDictionaries('en'));
const es = createPatternDetector('es', loadDictionaries('es'));

function found(text: string, detector = en): [string, string][] {
  const out: Span[] = [];
  detector.detect(text, out);
  return mergeSpans(out).map((s) => [s.type, text.slice(s.start, s.end)]);
}

describe('pattern detector', () => {
  it('finds contact identifiers with exact spans', () => {
    expect(found('Mail jane.doe+x@mail.example.org today')).toEqual([['EMAIL', 'jane.doe+x@mail.example.org']]);
    expect(found('See https://portal.example.com/p/123. Thanks')).toEqual([['URL', 'https://portal.example.com/p/123']]);
    expect(found('host 192.168.10.254 and 2001:db8::8a2e:370:7334 up')).toEqual([['IP', '192.168.10.254'], ['IP', '2001:db8::8a2e:370:7334']]);
    expect(found('Call (555) 123-4567 x204 or 555.987.6543')).toEqual([['PHONE', '(555) 123-4567 x204'], ['PHONE', '555.987.6543']]);
    expect(found('Fax: 555-222-3333')).toEqual([['FAX', '555-222-3333']]);
    expect(found('SSN 123-45-6789.')).toEqual([['SSN', '123-45-6789']]);
  });

  it('ends a line label\'s value with its sentence and leaves titles and states out', () => {
    expect(found('Tube placed. Address: 12 Oak Lane, Springfield, PA 15367. At this time the scar was excised.')).toEqual([
      ['LOCATION', '12 Oak Lane, Springfield'], ['LOCATION', '15367'],
    ]);
    expect(found('Referring physician: Dr. Ann Mavrou. He is 142 pounds overweight.')).toEqual([['NAME', 'Ann Mavrou']]);
    expect(found('Patient: Kent Hickle. Hemostasis was achieved.')).toEqual([['NAME', 'Kent Hickle']]);
    expect(found('COURSE IN THE HOSPITAL: The patient had a cysto.')).toEqual([]);
  });

  it('finds international phones, numbers after call words, companies, employers and places in context', () => {
    expect(found('Desk: +41 (0)96 471 07 95 Fax: +447700 921 916')).toEqual([['PHONE', '+41 (0)96 471 07 95'], ['FAX', '+447700 921 916']]);
    expect(found('Can someone call me on 9472 7916? Office 416 60 039.')).toEqual([['PHONE', '9472 7916'], ['PHONE', '416 60 039']]);
    expect(found('Please call her at 507-320-2675 x345 with results.')).toEqual([['PHONE', '507-320-2675 x345']]);
    expect(found('Zargan is from Civic Impulse LLC today.')).toEqual([['ORGANIZATION', 'Civic Impulse LLC']]);
    expect(found('He used to work for Deloitte as a clerk.')).toEqual([['ORGANIZATION', 'Deloitte']]);
    expect(found('I am in Ullaste for a trip. She moved to Florida.')).toEqual([['LOCATION', 'Ullaste']]);
    expect(found('asap ? my name is lena andersson.')).toEqual([['NAME', 'lena andersson']]);
    expect(found("I'm glad to hear it. I am going to send him.")).toEqual([]);
    expect(found('4844 Gade Apt. 656 and Mill Village NS B0J 2H0')).toEqual([['LOCATION', 'Apt. 656'], ['LOCATION', 'B0J 2H0']]);
    // not identifiers: staging, sizes, obstetric history, a lab run
    expect(found('Staged T2N0M0, cyst 13x12x7 cm, para3-0-0-3, BP 216/108 HR72 RR14 Wt81.')).toEqual([]);
  });

  it('names facilities, not departments or generic hospitals', () => {
    expect(found('Transferred from Marks Memorial Hospital today.')).toEqual([['LOCATION', 'Marks Memorial Hospital']]);
    expect(found('Seen in the Pediatric Urology Clinic, then brought to Children\'s Hospital.')).toEqual([]);
  });

  it('finds record, plan, account, licence, vehicle and device numbers', () => {
    expect(found('MRN: 00123456')).toEqual([['MRN', '00123456']]);
    expect(found('Medical record number: A1234567.')).toEqual([['MRN', 'A1234567']]);
    expect(found('Member ID: XYZ123456789')).toEqual([['HEALTH_PLAN', 'XYZ123456789']]);
    expect(found('Account number: 1234567890.')).toEqual([['ACCOUNT', '1234567890']]);
    expect(found('Card 4111 1111 1111 1111 on file')).toEqual([['ACCOUNT', '4111 1111 1111 1111']]);
    expect(found('DEA# AB1234563.')).toEqual([['LICENSE', 'AB1234563']]);
    expect(found('VIN 1HGCM82633A004352.')).toEqual([['VEHICLE', '1HGCM82633A004352']]);
    expect(found('UDI (01)00844588003288(17)141120(10)7654321D.')).toEqual([['DEVICE', '(01)00844588003288(17)141120(10)7654321D']]);
    expect(found('Serial number PJN123456.')).toEqual([['DEVICE', 'PJN123456']]);
    expect(found('id 129c6ac7-8d06-89de-ad63-0204a93e76c3 x')).toEqual([['ID', '129c6ac7-8d06-89de-ad63-0204a93e76c3']]);
  });

  it('finds dates in every written form but not bare years', () => {
    for (const d of ['3/4/21', '03-04-2021', 'March 4th', '4 Mar', 'the 4th of March', '2021-03-04T10:00', 'March 4, 2021', 'Mar. 4, 2021', 'March 2021', '4 March 2021']) {
      expect(found(`Seen ${d} in clinic`)).toEqual([['DATE', d]]);
    }
    expect(found('Diagnosed in 2019 with 2 lesions')).toEqual([]);
    expect(found('He may go home. She will march on.')).toEqual([]);
  });

  it('finds ages over 89 only', () => {
    expect(found('A 93-year-old woman')).toEqual([['AGE', '93-year-old']]);
    expect(found('aged 101, doing well')).toEqual([['AGE', '101']]);
    expect(found('A 45-year-old man, age 89')).toEqual([]);
  });

  it('finds addresses, ZIP codes and facilities', () => {
    expect(found('Lives at 633 Abernathy Landing, Emporia, KS 66801.')).toEqual([
      ['LOCATION', '633 Abernathy Landing'],
      ['LOCATION', 'Emporia'],
      ['LOCATION', '66801'],
    ]);
    expect(found('transferred from St. Mary\'s Hospital today')).toEqual([['LOCATION', "St. Mary's Hospital"]]);
    expect(found('admitted to the hospital for pain')).toEqual([]);
    expect(found('P.O. Box 1234')).toEqual([['LOCATION', 'P.O. Box 1234']]);
  });

  it('reads values after header labels', () => {
    expect(found('Patient: John Smith\nDOB: 01/02/1950')).toEqual([['NAME', 'John Smith'], ['DATE', '01/02/1950']]);
    expect(found('Address: 12 Oak Street, Springfield\n')).toEqual([['LOCATION', '12 Oak Street, Springfield']]);
  });

  it('keeps lab values, doses and scores', () => {
    expect(found('Hemoglobin 13.5 g/dL, WBC 10500, BP 120/80, glucose 169 mg/dl, GCS 15, 2 x 3 cm, 5 mg')).toEqual([]);
  });

  it('handles the Spanish pack', () => {
    expect(found('NHC: 368503.\nFecha de ingreso: 12 de marzo de 2019.', es)).toEqual([['MRN', '368503'], ['DATE', '12 de marzo de 2019']]);
    expect(found('Domicilio: Calle Miguel Benitez 90.\n', es)).toEqual([['LOCATION', 'Calle Miguel Benitez 90']]);
  });
});
