// SPDX-License-Identifier: Apache-2.0
/**
 * Words that look like names or places but are clinical vocabulary: eponyms, drug names, scores
 * and common note words. Written by the project (Apache-2.0); a token listed here is never a name
 * by dictionary alone, only by strong context (a title, a header label, known PHI).
 */

export const eponyms = `
addison alzheimer apgar argyll asperger babinski barr barre barrett behcet bence billroth bowen braden
brown-sequard brudzinski buerger burkitt charcot chiari chvostek colles coombs cowden crohn cushing dejerine
doppler down dressler dubin dupuytren edinger ehlers eisenmenger epstein erb ewing fallot fanconi felty
finkelstein fournier friedreich froment gaucher giemsa glasgow gleason goodpasture gower gowers gram graves
guillain hamman hartmann hashimoto heberden heimlich henoch hirschsprung hodgkin horner huntington hurler
jaeger kaposi karnofsky kawasaki kernig kerley klinefelter korsakoff krukenberg kussmaul lachman laennec
langerhans legg leriche lhermitte lyme mallory marfan mcburney mcmurray meckel meigs meniere mobitz munchausen
nissen noonan ortolani osgood paget pap parkinson perthes peyronie phalen pott prinzmetal ranson raynaud
reiter reye riedel rinne romberg rovsing salter sjogren sjögren schatzki schlatter scheuermann seldinger
sheehan simmonds snellen spurling sturge takayasu tinel tietze tourette trendelenburg valsalva von waldenstrom
wallenberg wegener weil wernicke whipple willebrand wilms zenker zollinger
mayo mohs wechsler judkins penfield bookwalter cottle yankauer metzenbaum mcivor dingman crile ligasure
kirschner steinmann jamshidi tuohy veress fogarty swan-ganz broviac groshong mahurkar tenckhoff gerota scarpa
bartholin skene hasson
`;

export const drugs = `
abilify acetaminophen acyclovir adderall advair albuterol aldactone alendronate allegra allopurinol alprazolam
ambien amiodarone amitriptyline amlodipine amoxicillin ampicillin anastrozole aricept aripiprazole ativan atenolol
atorvastatin augmentin avandia avapro azithromycin bactrim benadryl benazepril bisoprolol boniva bumetanide bumex
buspar buspirone bupropion calan captopril carbamazepine cardizem carvedilol cefazolin ceftriaxone celebrex
celecoxib celexa cephalexin cetirizine cialis cipro ciprofloxacin citalopram claritin clindamycin clonazepam
clonidine clopidogrel colace coreg coumadin cozaar crestor cyclen cymbalta decadron demerol depakote desyrel
dexamethasone diazepam diclofenac digoxin dilantin dilaudid diltiazem diovan ditropan docusate donepezil doxazosin
doxycycline duloxetine effexor eliquis enalapril enbrel epogen escitalopram esomeprazole estradiol eszopiclone
famotidine fentanyl finasteride flagyl flexeril flomax flonase fluconazole fluoxetine fluticasone folate fosamax
furosemide gabapentin gemfibrozil glipizide glucophage glyburide haldol haloperidol heparin humalog humira
hydralazine hydrochlorothiazide hydrocodone hydroxyzine hyzaar ibuprofen imdur imitrex inderal insulin isosorbide
januvia keflex keppra ketorolac klonopin lamictal lamotrigine lantus lasix levaquin levemir levetiracetam
levofloxacin levothyroxine levoxyl lexapro lipitor lisinopril lithium loratadine lorazepam lortab losartan lotensin
lovastatin lovenox lyrica macrobid meclizine medrol meloxicam metformin methadone methotrexate methylprednisolone
metoclopramide metolazone metoprolol metronidazole mirtazapine mobic montelukast morphine motrin naprosyn naproxen
neurontin nexium niacin nifedipine nitrofurantoin nitroglycerin norco norvasc novolog nystatin olanzapine omeprazole
ondansetron ortho oxybutynin oxycodone oxycontin pantoprazole paroxetine paxil penicillin pepcid percocet phenergan
phenytoin pioglitazone plavix plaquenil potassium pravachol pravastatin prednisone premarin prevacid prilosec
pristiq promethazine propranolol proscar protonix prozac quetiapine ramipril ranitidine reglan remeron requip
risperdal risperidone ritalin robaxin ropinirole rosuvastatin seroquel sertraline simvastatin singulair sinemet
soma spiriva spironolactone sudafed synthroid tamiflu tamoxifen tamsulosin tegretol temazepam tenormin terazosin
tiotropium topamax topiramate toprol tramadol trazodone triamterene tricor tylenol ultram valium valtrex
valsartan vancomycin venlafaxine ventolin verapamil viagra vicodin vitamin voltaren vytorin warfarin wellbutrin
xanax xarelto zantac zestril zetia zithromax zocor zofran zoloft zolpidem zyprexa zyrtec aspirin tylenol motrin
advil aleve excedrin mylanta maalox dulcolax senokot miralax afrin vasotec accupril altace lopressor
vicryl prolene monocryl chromic dexon maxon ethibond marcaine xylocaine lidocaine bupivacaine betadine hibiclens
duraprep dermabond steri tegaderm bovie kerlix coban xeroform bacitracin neosporin ancef kefzol toradol versed
propofol sevoflurane isoflurane ketamine succinylcholine rocuronium vecuronium pitocin methergine rhogam
norco foley kling penrose mastisol shiley allis steri-strips steri surgicel impella midas mayfield pfannenstiel
biopro hemovac metzenbaum kocher babcock deaver weitlaner gelpi castroviejo bard cordis medtronic stryker zimmer
synthes depuy ethicon dacron teflon silastic marlex tisseel gelfoam avitene floseal webril ioban duoderm opsite
telfa vaseline chlorhexidine vicodin jackson-pratt
`;

/** Capitalised words of clinical notes that also occur as people's names in the name lists. */
export const clinical = `
patient history physical exam examination impression plan assessment diagnosis procedure findings hospital
clinic medical center emergency department room service unit floor ward surgery surgical medicine general
internal family practice primary care nurse doctor physician provider attending resident fellow consultant
chief complaint present illness review systems social allergies medications labs laboratory imaging radiology
pathology cardiology neurology oncology urology nephrology pulmonology gastroenterology dermatology psychiatry
pediatrics obstetrics gynecology orthopedics orthopedic anesthesia operative preoperative postoperative discharge
admission admitting summary report note progress consult consultation follow followup disposition condition
stable normal abnormal negative positive left right bilateral anterior posterior lateral medial superior inferior
proximal distal upper lower chest abdomen pelvis head neck heart lungs extremities skin neuro psych heent
vital signs blood pressure pulse temperature respirations weight height oxygen saturation mg ml mcg kg lb
daily twice tid bid qid prn po iv im sq subcutaneous tablet capsule injection solution dose
january february march april may june july august september october november december monday tuesday wednesday
thursday friday saturday sunday today yesterday tomorrow morning evening night
pt pts male female man woman boy girl baby infant child adult elderly mr mrs ms dr md do rn np pa phd
english spanish caucasian african american hispanic latino asian white black
medicare medicaid insurance blue cross shield aetna cigna humana united healthcare kaiser
emergency trauma icu ccu nicu picu er ed or pacu ct mri ekg ecg eeg emg cbc bmp cmp
grade stage type class score scale level total
alert oriented awake pleasant cooperative denies reports states complains notes
mom dad mommy daddy grandma grandpa
vena cava aorta na ca fe zn ag agcl hgb hct plt wbc rbc bun alt ast inr ptt tsh psa
`;

/** Section headers and words of Spanish clinical case reports, never names on their own. */
export const clinicalEs = `
paciente datos nombre apellidos domicilio localidad provincia fecha nacimiento ingreso alta médico medico
informe clínico clinico antecedentes exploración exploracion física fisica tratamiento diagnóstico diagnostico
evolución evolucion resultados discusión discusion conclusión conclusion caso clínica clinica servicio hospital
unidad centro salud urgencias consulta remitido por correo electrónico electronico sexo edad años país pais
tras presenta se le la el los las un una con sin para por durante desde hasta ante mediante según segun
dado dada ante tras anamnesis enfermedad actual pruebas complementarias analítica analitica hemograma
bioquímica bioquimica orina radiografía radiografia ecografía ecografia tomografía tomografia resonancia
juicio orientación orientacion destaca refiere niega aporta inicia ingresa acude
enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre
lunes martes miércoles jueves viernes sábado domingo
dr dra don doña sr sra
`;

/** Countries and nationalities: not identifiers under Safe Harbor. */
export const countries = `
afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan bahamas bangladesh
belarus belgium belize benin bolivia bosnia botswana brazil bulgaria cambodia cameroon canada chile china
colombia congo croatia cuba cyprus czechia denmark ecuador egypt salvador eritrea estonia ethiopia finland
france gabon gambia georgia germany ghana greece guatemala guinea guyana haiti honduras hungary iceland india
indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan kenya korea kosovo kuwait laos latvia
lebanon liberia libya lithuania luxembourg madagascar malawi malaysia mali malta mexico moldova monaco mongolia
montenegro morocco mozambique myanmar namibia nepal netherlands nicaragua niger nigeria norway oman pakistan
panama paraguay peru philippines poland portugal qatar romania russia rwanda senegal serbia singapore slovakia
slovenia somalia spain sudan sweden switzerland syria taiwan tanzania thailand togo tunisia turkey uganda
ukraine uruguay uzbekistan venezuela vietnam yemen zambia zimbabwe usa america england scotland wales britain
españa alemania francia italia marruecos rumanía rumania portugal argentina méxico perú inglaterra ecuador
e-mail email french
alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii idaho illinois
indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi missouri
montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia washington
wisconsin wyoming carolina dakota
`;

/** All keep words, lower-cased, as one set per language. */
export function keepWords(language: 'en' | 'es'): Set<string> {
  const text = language === 'es' ? `${eponyms} ${drugs} ${clinicalEs} ${clinical} ${countries}` : `${eponyms} ${drugs} ${clinical} ${countries}`;
  return new Set(text.split(/\s+/).filter(Boolean));
}
